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

  !> Version of the C ABI these bindings describe; compare with steermd_loaded_abi_version().
  integer(c_int32_t), parameter :: STEERMD_ABI_VERSION = 2

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
  integer(c_int), parameter :: STEERMD_ERR_INVALID_HANDLE = -10
  integer(c_int), parameter :: STEERMD_ERR_INTERNAL = -99

  !> Integrator kinds, steermd_integrator_kind (steermd_integrator_options%kind).
  integer(c_int), parameter :: STEERMD_LANGEVIN_MIDDLE = 0
  integer(c_int), parameter :: STEERMD_VELOCITY_VERLET = 1
  !> Nonbonded methods, steermd_nonbonded_method (steermd_prmtop_options%nonbonded_method).
  integer(c_int), parameter :: STEERMD_NO_CUTOFF = 0
  integer(c_int), parameter :: STEERMD_CUTOFF_NON_PERIODIC = 1
  integer(c_int), parameter :: STEERMD_CUTOFF_PERIODIC = 2
  !> Bond constraints, steermd_constraints (steermd_prmtop_options%constraints).
  integer(c_int), parameter :: STEERMD_CONSTRAINTS_NONE = 0
  integer(c_int), parameter :: STEERMD_CONSTRAINTS_HBONDS = 1
  integer(c_int), parameter :: STEERMD_CONSTRAINTS_ALL_BONDS = 2
  !> Implicit solvent, steermd_implicit_solvent (steermd_prmtop_options%implicit_solvent).
  integer(c_int), parameter :: STEERMD_IMPLICIT_SOLVENT_NONE = 0
  integer(c_int), parameter :: STEERMD_IMPLICIT_SOLVENT_OBC2 = 1
  !> steermd_seed_stream: the random streams of a drive campaign (steermd_drive_seed).
  integer(c_int), parameter :: STEERMD_SEED_NOISE = 1
  integer(c_int), parameter :: STEERMD_SEED_VELOCITIES = 2
  integer(c_int), parameter :: STEERMD_SEED_VELOCITY_COIN = 3
  integer(c_int), parameter :: STEERMD_SEED_STATES = 4
  !> Compute devices, steermd_device_kind (steermd_integrator_options%device_kind).
  integer(c_int), parameter :: STEERMD_DEVICE_CPU = 0
  integer(c_int), parameter :: STEERMD_DEVICE_REFERENCE = 1
  integer(c_int), parameter :: STEERMD_DEVICE_OPENCL = 2
  integer(c_int), parameter :: STEERMD_DEVICE_CUDA = 3
  integer(c_int), parameter :: STEERMD_DEVICE_HIP = 4
  !> GPU precision, steermd_precision (steermd_integrator_options%precision).
  integer(c_int), parameter :: STEERMD_PRECISION_MIXED = 0
  integer(c_int), parameter :: STEERMD_PRECISION_DOUBLE = 1
  !> steermd_device_ordinal: device_ordinal = local rank mod GPUs per node.
  integer(c_int), parameter :: STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK = -1

  !> How a simulation integrates: fill with
  !> steermd_integrator_options_default(opts, c_sizeof(opts)).
  type, bind(C) :: steermd_integrator_options
    integer(c_size_t) :: struct_size        ! bytes of this type, set by the _default call
    integer(c_int) :: kind                  ! STEERMD_LANGEVIN_MIDDLE or STEERMD_VELOCITY_VERLET
    real(c_double) :: dt_ps                 ! time step, ps
    real(c_double) :: temperature_k         ! bath temperature, K
    real(c_double) :: friction_per_ps       ! friction, 1/ps
    integer(c_int64_t) :: seed              ! Langevin noise seed
    real(c_double) :: constraint_tolerance  ! relative constraint tolerance
    integer(c_int) :: device_kind           ! a STEERMD_DEVICE_* kind
    integer(c_int) :: device_ordinal        ! GPU ordinal, or STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK
    integer(c_int) :: precision             ! STEERMD_PRECISION_MIXED or _DOUBLE (GPU devices)
  end type

  !> How a system is built from a prmtop: fill with
  !> steermd_prmtop_options_default(opts, c_sizeof(opts)).
  type, bind(C) :: steermd_prmtop_options
    integer(c_size_t) :: struct_size        ! bytes of this type, set by the _default call
    integer(c_int) :: nonbonded_method      ! STEERMD_NO_CUTOFF, STEERMD_CUTOFF_NON_PERIODIC, ...
    real(c_double) :: cutoff_nm             ! nonbonded cutoff, nm
    integer(c_int) :: constraints           ! STEERMD_CONSTRAINTS_NONE, _HBONDS, _ALL_BONDS
    integer(c_int) :: implicit_solvent      ! STEERMD_IMPLICIT_SOLVENT_NONE, _OBC2
  end type

  !> Where one local simulation restarts from (steermd_steering_restart).
  type, bind(C) :: steermd_restart_info
    integer(c_int32_t) :: restarted          ! 1: restarted this iteration
    integer(c_int32_t) :: from_start         ! 1: from its own starting structure
    integer(c_int32_t) :: copy_velocities    ! 1: keep the frame's velocities (written)
    integer(c_int32_t) :: has_box            ! 1: the frame had a box (written)
    integer(c_int64_t) :: frame_id           ! frame id, -1 from the start
    integer(c_int64_t) :: source_simulation  ! simulation that produced the frame
    integer(c_int64_t) :: source_step        ! its MD step, -1 from the start
    real(c_double) :: rmsd                   ! RMSD to the reference, nm
  end type

  !> A steering handle with type-bound procedures; every function returns
  !> a status (STEERMD_OK or an error, message in steermd_error_message()).
  !> Positions nm, velocities nm/ps. Free it before MPI_Finalize.
  type :: steermd_steering_t
    type(c_ptr) :: handle = c_null_ptr
  contains
    procedure :: create => steering_create
    procedure :: create_mpi => steering_create_mpi
    procedure :: add_frame => steering_add_frame
    procedure :: mark_failed => steering_mark_failed
    procedure :: iterate => steering_iterate
    procedure :: restart => steering_restart
    procedure :: local_simulations => steering_local_simulations
    procedure :: outliers => steering_outliers
    procedure :: write_outputs => steering_write_outputs
    procedure :: free => steering_free
  end type

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

    function steermd_status_string(status) bind(C, name="steermd_status_string")
      import :: c_ptr, c_int32_t
      integer(c_int32_t), value :: status
      type(c_ptr) :: steermd_status_string
    end function

    function steermd_version() bind(C, name="steermd_version")
      import :: c_ptr
      type(c_ptr) :: steermd_version
    end function

    ! steermd_abi_version(); renamed because Fortran names ignore case and
    ! STEERMD_ABI_VERSION is the constant.
    function steermd_loaded_abi_version() bind(C, name="steermd_abi_version")
      import :: c_int32_t
      integer(c_int32_t) :: steermd_loaded_abi_version
    end function

    subroutine steermd_version_numbers(major, minor, patch) bind(C, name="steermd_version_numbers")
      import :: c_int32_t
      integer(c_int32_t), intent(out) :: major, minor, patch
    end subroutine

    ! The seed steermd drive uses for a stream at (iteration, simulation).
    function steermd_drive_seed(seed, stream, iteration, simulation) bind(C, name="steermd_drive_seed")
      import :: c_int64_t, c_int32_t
      integer(c_int64_t), value :: seed, iteration, simulation
      integer(c_int32_t), value :: stream
      integer(c_int64_t) :: steermd_drive_seed
    end function

    ! Warnings (accepted but suspect input) raised on this thread.
    function steermd_warning_count() bind(C, name="steermd_warning_count")
      import :: c_int32_t
      integer(c_int32_t) :: steermd_warning_count
    end function

    function steermd_warning_message(index) bind(C, name="steermd_warning_message")
      import :: c_ptr, c_int32_t
      integer(c_int32_t), value :: index
      type(c_ptr) :: steermd_warning_message
    end function

    subroutine steermd_clear_warnings() bind(C, name="steermd_clear_warnings")
    end subroutine

    ! Topology (PDB) ------------------------------------------------------
    function steermd_topology_read_pdb(path, top) bind(C, name="steermd_topology_read_pdb")
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: top
      integer(c_int) :: steermd_topology_read_pdb
    end function

    function steermd_topology_n_atoms(top, n_atoms) bind(C, name="steermd_topology_n_atoms")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: top
      integer(c_size_t), intent(out) :: n_atoms
      integer(c_int) :: steermd_topology_n_atoms
    end function

    function steermd_topology_coordinates(top, xyz, len) bind(C, name="steermd_topology_coordinates")
      import :: c_ptr, c_int, c_size_t, c_float
      type(c_ptr), value :: top
      real(c_float), dimension(*), intent(out) :: xyz
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_topology_coordinates
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

    ! Trajectory (DCD, Amber NetCDF, XTC) ---------------------------------
    function steermd_trajectory_read(path, traj) bind(C, name="steermd_trajectory_read")
      import :: c_char, c_ptr, c_int
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: traj
      integer(c_int) :: steermd_trajectory_read
    end function

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

    ! Simulations (MD) ---------------------------------------------------------
    function steermd_integrator_options_default(opts, struct_size) bind(C, name="steermd_integrator_options_default")
      import :: c_int, c_size_t, steermd_integrator_options
      type(steermd_integrator_options), intent(out) :: opts
      integer(c_size_t), value :: struct_size  ! c_sizeof(opts)
      integer(c_int) :: steermd_integrator_options_default
    end function

    function steermd_prmtop_options_default(opts, struct_size) bind(C, name="steermd_prmtop_options_default")
      import :: c_int, c_size_t, steermd_prmtop_options
      type(steermd_prmtop_options), intent(out) :: opts
      integer(c_size_t), value :: struct_size  ! c_sizeof(opts)
      integer(c_int) :: steermd_prmtop_options_default
    end function

    function steermd_simulation_create_xml(system_xml, pdb, opts, sim) bind(C, name="steermd_simulation_create_xml")
      import :: c_char, c_ptr, c_int, steermd_integrator_options
      character(kind=c_char), dimension(*), intent(in) :: system_xml, pdb
      type(steermd_integrator_options), intent(in) :: opts
      type(c_ptr), intent(out) :: sim
      integer(c_int) :: steermd_simulation_create_xml
    end function

    ! prmtop_opts: c_null_ptr for the defaults, or c_loc of a steermd_prmtop_options target.
    function steermd_simulation_create_prmtop(prmtop, inpcrd, prmtop_opts, opts, sim) &
        bind(C, name="steermd_simulation_create_prmtop")
      import :: c_char, c_ptr, c_int, steermd_integrator_options
      character(kind=c_char), dimension(*), intent(in) :: prmtop, inpcrd
      type(c_ptr), value :: prmtop_opts
      type(steermd_integrator_options), intent(in) :: opts
      type(c_ptr), intent(out) :: sim
      integer(c_int) :: steermd_simulation_create_prmtop
    end function

    function steermd_simulation_n_atoms(sim, n_atoms) bind(C, name="steermd_simulation_n_atoms")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: sim
      integer(c_size_t), intent(out) :: n_atoms
      integer(c_int) :: steermd_simulation_n_atoms
    end function

    function steermd_simulation_get_positions(sim, xyz, len) bind(C, name="steermd_simulation_get_positions")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(out) :: xyz
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_get_positions
    end function

    function steermd_simulation_set_positions(sim, xyz, len) bind(C, name="steermd_simulation_set_positions")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(in) :: xyz
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_set_positions
    end function

    function steermd_simulation_get_velocities(sim, v, len) bind(C, name="steermd_simulation_get_velocities")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(out) :: v
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_get_velocities
    end function

    function steermd_simulation_set_velocities(sim, v, len) bind(C, name="steermd_simulation_set_velocities")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(in) :: v
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_set_velocities
    end function

    function steermd_simulation_set_velocities_to_temperature(sim, temperature_k, seed) &
        bind(C, name="steermd_simulation_set_velocities_to_temperature")
      import :: c_ptr, c_int, c_double, c_int64_t
      type(c_ptr), value :: sim
      real(c_double), value :: temperature_k
      integer(c_int64_t), value :: seed
      integer(c_int) :: steermd_simulation_set_velocities_to_temperature
    end function

    function steermd_simulation_energies(sim, potential, kinetic, temperature) &
        bind(C, name="steermd_simulation_energies")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: sim
      real(c_double), intent(out) :: potential, kinetic, temperature
      integer(c_int) :: steermd_simulation_energies
    end function

    function steermd_simulation_group_energies(sim, energies, len) bind(C, name="steermd_simulation_group_energies")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(out) :: energies
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_group_energies
    end function

    function steermd_simulation_get_forces(sim, forces, len) bind(C, name="steermd_simulation_get_forces")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), dimension(*), intent(out) :: forces
      integer(c_size_t), value :: len
      integer(c_int) :: steermd_simulation_get_forces
    end function

    function steermd_simulation_minimize(sim, tolerance, max_iterations, final_energy) &
        bind(C, name="steermd_simulation_minimize")
      import :: c_ptr, c_int, c_size_t, c_double
      type(c_ptr), value :: sim
      real(c_double), value :: tolerance
      integer(c_size_t), value :: max_iterations
      real(c_double), intent(out) :: final_energy
      integer(c_int) :: steermd_simulation_minimize
    end function

    function steermd_simulation_step(sim, n_steps) bind(C, name="steermd_simulation_step")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: sim
      integer(c_int64_t), value :: n_steps
      integer(c_int) :: steermd_simulation_step
    end function

    function steermd_simulation_progress(sim, step, time_ps) bind(C, name="steermd_simulation_progress")
      import :: c_ptr, c_int, c_int64_t, c_double
      type(c_ptr), value :: sim
      integer(c_int64_t), intent(out) :: step
      real(c_double), intent(out) :: time_ps
      integer(c_int) :: steermd_simulation_progress
    end function

    function steermd_simulation_add_dcd_reporter(sim, path, interval) bind(C, name="steermd_simulation_add_dcd_reporter")
      import :: c_ptr, c_int, c_char, c_int64_t
      type(c_ptr), value :: sim
      character(kind=c_char), dimension(*), intent(in) :: path
      integer(c_int64_t), value :: interval
      integer(c_int) :: steermd_simulation_add_dcd_reporter
    end function

    function steermd_simulation_save_checkpoint(sim, path) bind(C, name="steermd_simulation_save_checkpoint")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: sim
      character(kind=c_char), dimension(*), intent(in) :: path
      integer(c_int) :: steermd_simulation_save_checkpoint
    end function

    function steermd_simulation_load_checkpoint(sim, path) bind(C, name="steermd_simulation_load_checkpoint")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: sim
      character(kind=c_char), dimension(*), intent(in) :: path
      integer(c_int) :: steermd_simulation_load_checkpoint
    end function

    subroutine steermd_simulation_free(sim) bind(C, name="steermd_simulation_free")
      import :: c_ptr
      type(c_ptr), value :: sim
    end subroutine

    ! Steering: config is a TOML path or text (NUL-terminated); positions nm,
    ! velocities nm/ps, boxes nm. Optional arrays are c_ptr (c_null_ptr or c_loc).
    function steermd_steering_create(config, n_simulations, steering) &
        bind(C, name="steermd_steering_create")
      import :: c_char, c_ptr, c_int, c_int64_t
      character(kind=c_char), dimension(*), intent(in) :: config
      integer(c_int64_t), value :: n_simulations
      type(c_ptr), intent(out) :: steering
      integer(c_int) :: steermd_steering_create
    end function

    !> fortran_comm: the integer communicator (mpi) or comm%MPI_VAL (mpi_f08).
    function steermd_steering_create_mpi(config, fortran_comm, n_local, steering) &
        bind(C, name="steermd_steering_create_mpi")
      import :: c_char, c_ptr, c_int, c_int32_t, c_int64_t
      character(kind=c_char), dimension(*), intent(in) :: config
      integer(c_int32_t), value :: fortran_comm
      integer(c_int64_t), value :: n_local
      type(c_ptr), intent(out) :: steering
      integer(c_int) :: steermd_steering_create_mpi
    end function

    function steermd_steering_add_frame(steering, sim, step, positions, n_atoms, velocities, &
        box_vectors) bind(C, name="steermd_steering_add_frame")
      import :: c_ptr, c_int, c_int64_t, c_size_t, c_double
      type(c_ptr), value :: steering
      integer(c_int64_t), value :: sim, step
      real(c_double), dimension(*), intent(in) :: positions
      integer(c_size_t), value :: n_atoms
      type(c_ptr), value :: velocities, box_vectors
      integer(c_int) :: steermd_steering_add_frame
    end function

    function steermd_steering_add_frame_f32(steering, sim, step, positions, n_atoms, velocities, &
        box_vectors) bind(C, name="steermd_steering_add_frame_f32")
      import :: c_ptr, c_int, c_int64_t, c_size_t, c_float
      type(c_ptr), value :: steering
      integer(c_int64_t), value :: sim, step
      real(c_float), dimension(*), intent(in) :: positions
      integer(c_size_t), value :: n_atoms
      type(c_ptr), value :: velocities, box_vectors
      integer(c_int) :: steermd_steering_add_frame_f32
    end function

    !> The last iteration's outliers: ids, LOF scores (NaN for DBSCAN), RMSD nm;
    !> arrays c_null_ptr to skip, len 0 to ask for n_outliers only.
    function steermd_steering_outliers(steering, frame_ids, scores, rmsd_nm, len, n_outliers) &
        bind(C, name="steermd_steering_outliers")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: steering, frame_ids, scores, rmsd_nm
      integer(c_size_t), value :: len
      integer(c_size_t), intent(out) :: n_outliers
      integer(c_int) :: steermd_steering_outliers
    end function

    !> Write the last iteration's outputs (latents, RMSD, frame ids, restarts.json)
    !> under dir/iter_NNNN as steermd drive does; rank 0 writes.
    function steermd_steering_write_outputs(steering, dir) bind(C, name="steermd_steering_write_outputs")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: steering
      character(kind=c_char), dimension(*), intent(in) :: dir
      integer(c_int) :: steermd_steering_write_outputs
    end function

    function steermd_steering_mark_failed(steering, sim, message) &
        bind(C, name="steermd_steering_mark_failed")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: steering
      integer(c_int64_t), value :: sim
      type(c_ptr), value :: message
      integer(c_int) :: steermd_steering_mark_failed
    end function

    function steermd_steering_iterate(steering, n_restarts) bind(C, name="steermd_steering_iterate")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: steering
      integer(c_int64_t), intent(out) :: n_restarts
      integer(c_int) :: steermd_steering_iterate
    end function

    function steermd_steering_restart(steering, sim, info, positions, velocities, len, &
        box_vectors) bind(C, name="steermd_steering_restart")
      import :: c_ptr, c_int, c_int64_t, c_size_t, c_double, steermd_restart_info
      type(c_ptr), value :: steering
      integer(c_int64_t), value :: sim
      type(steermd_restart_info), intent(out) :: info
      real(c_double), dimension(*), intent(inout) :: positions
      type(c_ptr), value :: velocities
      integer(c_size_t), value :: len
      type(c_ptr), value :: box_vectors
      integer(c_int) :: steermd_steering_restart
    end function

    function steermd_steering_local_simulations(steering, first, count) &
        bind(C, name="steermd_steering_local_simulations")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: steering
      integer(c_int64_t), intent(out) :: first, count
      integer(c_int) :: steermd_steering_local_simulations
    end function

    subroutine steermd_steering_free(steering) bind(C, name="steermd_steering_free")
      import :: c_ptr
      type(c_ptr), value :: steering
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

  !> The name of a status code, e.g. "STEERMD_ERR_SHAPE".
  function steermd_status_name(status) result(s)
    integer(c_int32_t), intent(in) :: status
    character(len=:), allocatable :: s
    s = from_c_string(steermd_status_string(status))
  end function

  !> The loaded library's version string.
  function steermd_version_string() result(s)
    character(len=:), allocatable :: s
    s = from_c_string(steermd_version())
  end function

  !> Create in one process owning all n_simulations (config: TOML path or text).
  integer(c_int) function steering_create(self, config, n_simulations) result(status)
    class(steermd_steering_t), intent(inout) :: self
    character(len=*), intent(in) :: config
    integer(c_int64_t), intent(in) :: n_simulations
    status = steermd_steering_create(c_string(config), n_simulations, self%handle)
  end function

  !> Create collectively on communicator comm (the integer handle of `use mpi`,
  !> or comm%MPI_VAL of mpi_f08); this rank owns n_local simulations.
  integer(c_int) function steering_create_mpi(self, config, comm, n_local) result(status)
    class(steermd_steering_t), intent(inout) :: self
    character(len=*), intent(in) :: config
    integer, intent(in) :: comm
    integer(c_int64_t), intent(in) :: n_local
    status = steermd_steering_create_mpi(c_string(config), int(comm, c_int32_t), n_local, self%handle)
  end function

  !> Hand over a frame of local simulation sim after MD step step: positions
  !> (3, n_atoms) nm, optional velocities (3, n_atoms) nm/ps and box (3, 3) nm.
  integer(c_int) function steering_add_frame(self, sim, step, positions, velocities, box) result(status)
    class(steermd_steering_t), intent(inout) :: self
    integer(c_int64_t), intent(in) :: sim, step
    real(c_double), intent(in), target, contiguous :: positions(:, :)
    real(c_double), intent(in), target, contiguous, optional :: velocities(:, :), box(:, :)
    type(c_ptr) :: v, b
    v = c_null_ptr
    b = c_null_ptr
    if (present(velocities)) then
      if (size(velocities) /= size(positions)) then
        status = STEERMD_ERR_SHAPE
        return
      end if
      v = c_loc(velocities)
    end if
    if (present(box)) then
      if (size(box) /= 9) then
        status = STEERMD_ERR_SHAPE
        return
      end if
      b = c_loc(box)
    end if
    status = steermd_steering_add_frame(self%handle, sim, step, positions, &
                                        int(size(positions) / 3, c_size_t), v, b)
  end function

  !> Record that local simulation sim blew up this iteration.
  integer(c_int) function steering_mark_failed(self, sim, message) result(status)
    class(steermd_steering_t), intent(inout) :: self
    integer(c_int64_t), intent(in) :: sim
    character(len=*), intent(in) :: message
    character(kind=c_char, len=:), allocatable, target :: text
    text = c_string(message)
    status = steermd_steering_mark_failed(self%handle, sim, c_loc(text))
  end function

  !> One iteration, collectively: analysis, agent step, restart plan.
  integer(c_int) function steering_iterate(self, n_restarts) result(status)
    class(steermd_steering_t), intent(inout) :: self
    integer(c_int64_t), intent(out) :: n_restarts
    status = steermd_steering_iterate(self%handle, n_restarts)
  end function

  !> Where local simulation sim restarts from: info, and when it restarts from
  !> a frame its positions (3, n_atoms) nm and, if info%copy_velocities, its
  !> velocities (3, n_atoms) nm/ps.
  integer(c_int) function steering_restart(self, sim, info, positions, velocities) result(status)
    class(steermd_steering_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: sim
    type(steermd_restart_info), intent(out) :: info
    real(c_double), intent(inout), target, contiguous :: positions(:, :), velocities(:, :)
    if (size(velocities) /= size(positions)) then
      status = STEERMD_ERR_SHAPE
      return
    end if
    status = steermd_steering_restart(self%handle, sim, info, positions, c_loc(velocities), &
                                      int(size(positions), c_size_t), c_null_ptr)
  end function

  !> The simulations this rank owns: first .. first + count - 1.
  integer(c_int) function steering_local_simulations(self, first, count) result(status)
    class(steermd_steering_t), intent(in) :: self
    integer(c_int64_t), intent(out) :: first, count
    status = steermd_steering_local_simulations(self%handle, first, count)
  end function

  !> The last iteration's outliers in restart-preference order: frame ids, LOF
  !> scores (NaN for DBSCAN) and RMSDs to the reference (nm), allocated here.
  integer(c_int) function steering_outliers(self, frame_ids, scores, rmsd_nm) result(status)
    class(steermd_steering_t), intent(in) :: self
    integer(c_int64_t), allocatable, target, intent(out) :: frame_ids(:)
    real(c_double), allocatable, target, intent(out) :: scores(:), rmsd_nm(:)
    integer(c_size_t) :: n
    n = 0
    status = steermd_steering_outliers(self%handle, c_null_ptr, c_null_ptr, c_null_ptr, 0_c_size_t, n)
    if (status /= STEERMD_OK) return
    allocate(frame_ids(max(n, 1_c_size_t)), scores(max(n, 1_c_size_t)), rmsd_nm(max(n, 1_c_size_t)))
    status = steermd_steering_outliers(self%handle, c_loc(frame_ids), c_loc(scores), c_loc(rmsd_nm), n, n)
    frame_ids = frame_ids(1:n)
    scores = scores(1:n)
    rmsd_nm = rmsd_nm(1:n)
  end function

  !> Write the last iteration's outputs under dir/iter_NNNN (rank 0 writes).
  integer(c_int) function steering_write_outputs(self, dir) result(status)
    class(steermd_steering_t), intent(in) :: self
    character(len=*), intent(in) :: dir
    status = steermd_steering_write_outputs(self%handle, c_string(dir))
  end function

  !> Release the handle (before MPI_Finalize); safe to call twice.
  subroutine steering_free(self)
    class(steermd_steering_t), intent(inout) :: self
    call steermd_steering_free(self%handle)
    self%handle = c_null_ptr
  end subroutine
end module steermd
