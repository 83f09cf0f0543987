! Fortran 2003 bindings (iso_c_binding) for the steermd C ABI (steermd.h).
! Units: nm, ps, kJ/mol, amu, K, elementary charge. Every function returns a
! status (STEERMD_OK = 0, negative = failure); steermd_error_message() returns
! the message of the last failure on this thread.
!
! Compile with your program:  gfortran include/steermd.f90 prog.f90 -L<libdir> -lsteermd
module steermd
  use, intrinsic :: iso_c_binding
  implicit none
  private :: strlen

  integer(c_int), parameter :: STEERMD_OK = 0
  integer(c_int), parameter :: STEERMD_ERR_NULL_POINTER = -1
  integer(c_int), parameter :: STEERMD_ERR_INVALID_ARGUMENT = -2
  integer(c_int), parameter :: STEERMD_ERR_SHAPE = -3
  integer(c_int), parameter :: STEERMD_ERR_NON_FINITE = -4
  integer(c_int), parameter :: STEERMD_ERR_IO = -5
  integer(c_int), parameter :: STEERMD_ERR_FORMAT = -6
  integer(c_int), parameter :: STEERMD_ERR_MODEL = -7
  integer(c_int), parameter :: STEERMD_ERR_BACKEND = -8
  integer(c_int), parameter :: STEERMD_ERR_UNSTABLE = -9
  integer(c_int), parameter :: STEERMD_ERR_INTERNAL = -99

  interface
    function strlen(s) bind(C, name="strlen")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: strlen
    end function

    function steermd_last_error_message() bind(C, name="steermd_last_error_message")
      import :: c_ptr
      type(c_ptr) :: steermd_last_error_message
    end function

    function steermd_version() bind(C, name="steermd_version")
      import :: c_ptr
      type(c_ptr) :: steermd_version
    end function

    ! Topology (PDB) ------------------------------------------------------
    function steermd_topology_read_pdb(path, top) bind(C, name="steermd_topology_read_pdb")
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: top
      integer(c_int) :: steermd_topology_read_pdb
    end function

    function steermd_topology_select(top, names, indices, capacity, n_selected) &
        bind(C, name="steermd_topology_select")
      import :: c_char, c_ptr, c_int, c_size_t
      type(c_ptr), value :: top
      character(kind=c_char), dimension(*), intent(in) :: names
      type(c_ptr), value :: indices
      integer(c_size_t), value :: capacity
      integer(c_size_t), intent(out) :: n_selected
      integer(c_int) :: steermd_topology_select
    end function

    subroutine steermd_topology_free(top) bind(C, name="steermd_topology_free")
      import :: c_ptr
      type(c_ptr), value :: top
    end subroutine

    ! Trajectory (DCD) ----------------------------------------------------
    function steermd_trajectory_read_dcd(path, traj) bind(C, name="steermd_trajectory_read_dcd")
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: traj
      integer(c_int) :: steermd_trajectory_read_dcd
    end function

    function steermd_trajectory_shape(traj, n_frames, n_atoms) bind(C, name="steermd_trajectory_shape")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: traj
      integer(c_size_t), intent(out) :: n_frames, n_atoms
      integer(c_int) :: steermd_trajectory_shape
    end function

    function steermd_trajectory_gather(traj, selection, n_sel, xyz, len) &
        bind(C, name="steermd_trajectory_gather")
      import :: c_ptr, c_int, c_size_t, c_float
      type(c_ptr), value :: traj
      integer(c_size_t), dimension(*), intent(in) :: selection
      integer(c_size_t), value :: n_sel, len
      real(c_float), dimension(*), intent(out) :: xyz
      integer(c_int) :: steermd_trajectory_gather
    end function

    subroutine steermd_trajectory_free(traj) bind(C, name="steermd_trajectory_free")
      import :: c_ptr
      type(c_ptr), value :: traj
    end subroutine

    ! Kernels ---------------------------------------------------------------
    function steermd_contact_maps(xyz, n_frames, n_atoms, boxes, cutoff, maps, maps_len) &
        bind(C, name="steermd_contact_maps")
      import :: c_ptr, c_int, c_size_t, c_float, c_int8_t
      real(c_float), dimension(*), intent(in) :: xyz
      integer(c_size_t), value :: n_frames, n_atoms, maps_len
      type(c_ptr), value :: boxes
      real(c_float), value :: cutoff
      integer(c_int8_t), dimension(*), intent(out) :: maps
      integer(c_int) :: steermd_contact_maps
    end function

    function steermd_rmsd(reference, xyz, n_frames, n_atoms, out, out_len) bind(C, name="steermd_rmsd")
      import :: c_int, c_size_t, c_float
      real(c_float), dimension(*), intent(in) :: reference, xyz
      integer(c_size_t), value :: n_frames, n_atoms, out_len
      real(c_float), dimension(*), intent(out) :: out
      integer(c_int) :: steermd_rmsd
    end function

    function steermd_lof(points, n, dim, n_neighbors, scores, scores_len) bind(C, name="steermd_lof")
      import :: c_int, c_size_t, c_float, c_double
      real(c_float), dimension(*), intent(in) :: points
      integer(c_size_t), value :: n, dim, n_neighbors, scores_len
      real(c_double), dimension(*), intent(out) :: scores
      integer(c_int) :: steermd_lof
    end function

    function steermd_top_outliers(scores, n, count, indices, indices_len, n_written) &
        bind(C, name="steermd_top_outliers")
      import :: c_int, c_size_t, c_double, c_int64_t
      real(c_double), dimension(*), intent(in) :: scores
      integer(c_size_t), value :: n, count, indices_len
      integer(c_int64_t), dimension(*), intent(out) :: indices
      integer(c_size_t), intent(out) :: n_written
      integer(c_int) :: steermd_top_outliers
    end function

    function steermd_dbscan(points, n, dim, eps, min_samples, labels, labels_len, n_clusters) &
        bind(C, name="steermd_dbscan")
      import :: c_int, c_size_t, c_float, c_double, c_int64_t
      real(c_float), dimension(*), intent(in) :: points
      integer(c_size_t), value :: n, dim, min_samples, labels_len
      real(c_double), value :: eps
      integer(c_int64_t), dimension(*), intent(out) :: labels
      integer(c_size_t), intent(out) :: n_clusters
      integer(c_int) :: steermd_dbscan
    end function

    ! Encoders --------------------------------------------------------------
    function steermd_encoder_load(dir, enc) bind(C, name="steermd_encoder_load")
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: dir
      type(c_ptr), intent(out) :: enc
      integer(c_int) :: steermd_encoder_load
    end function

    function steermd_encoder_shape(enc, input_size, latent_dim) bind(C, name="steermd_encoder_shape")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: enc
      integer(c_size_t), intent(out) :: input_size, latent_dim
      integer(c_int) :: steermd_encoder_shape
    end function

    function steermd_encoder_embed(enc, input, batch, input_len, latent, latent_len) &
        bind(C, name="steermd_encoder_embed")
      import :: c_ptr, c_int, c_size_t, c_float
      type(c_ptr), value :: enc
      real(c_float), dimension(*), intent(in) :: input
      integer(c_size_t), value :: batch, input_len, latent_len
      real(c_float), dimension(*), intent(out) :: latent
      integer(c_int) :: steermd_encoder_embed
    end function

    subroutine steermd_encoder_free(enc) bind(C, name="steermd_encoder_free")
      import :: c_ptr
      type(c_ptr), value :: enc
    end subroutine
  end interface

contains

  !> A Fortran string as a NUL-terminated C string.
  function c_string(s) result(cs)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: cs
    cs = trim(s) // c_null_char
  end function

  !> Copy a C string owned by steermd into a Fortran string.
  function from_c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    n = int(strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function

  !> The message of the last steermd failure on this thread.
  function steermd_error_message() result(s)
    character(len=:), allocatable :: s
    s = from_c_string(steermd_last_error_message())
  end function

  !> The loaded library's version string.
  function steermd_version_string() result(s)
    character(len=:), allocatable :: s
    s = from_c_string(steermd_version())
  end function
end module steermd
