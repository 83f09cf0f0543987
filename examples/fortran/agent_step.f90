! One DeepDriveMD agent step from Fortran through the steermd C ABI:
! PDB + DCD -> C-alpha contact maps -> CVAE embedding -> LOF outliers.
!
! Build:  gfortran include/steermd.f90 examples/fortran/agent_step.f90 -L target/release -lsteermd
! Run:    ./a.out tests/data/villin.pdb tests/data/villin.dcd tests/data/cvae_trained
program agent_step
  use, intrinsic :: iso_c_binding
  use steermd
  implicit none

  character(len=1024) :: pdb_path, dcd_path, model_dir
  type(c_ptr) :: top, traj, enc
  integer(c_size_t) :: n_ca, n_frames, n_atoms, input_size, latent_dim, n_top, i, n_top_atoms
  integer(c_int32_t) :: major, minor, patch
  real(c_float), allocatable :: top_xyz(:)
  integer(c_size_t), allocatable, target :: ca(:)
  real(c_float), allocatable :: xyz(:), input(:), z(:)
  integer(c_int8_t), allocatable :: maps(:)
  real(c_double), allocatable :: scores(:)
  integer(c_int64_t) :: top5(5)
  integer(c_int) :: status

  if (command_argument_count() /= 3) then
    print '(a)', 'usage: agent_step TOPOLOGY.pdb TRAJECTORY.dcd MODEL_DIR'
    stop 2
  end if
  call get_command_argument(1, pdb_path)
  call get_command_argument(2, dcd_path)
  call get_command_argument(3, model_dir)
  if (steermd_loaded_abi_version() /= STEERMD_ABI_VERSION) then
    print '(a,i0,a,i0)', 'steermd.f90 describes ABI ', STEERMD_ABI_VERSION, &
        ', the loaded library implements ', steermd_loaded_abi_version()
    stop 1
  end if
  call steermd_version_numbers(major, minor, patch)
  print '(2a,3(a,i0))', 'steermd ', steermd_version_string(), ' = ', major, '.', minor, '.', patch

  call check(steermd_topology_read_pdb(c_string(pdb_path), top), 'read PDB')
  call check(steermd_topology_n_atoms(top, n_top_atoms), 'topology size')
  allocate(top_xyz(3 * n_top_atoms))
  call check(steermd_topology_coordinates(top, top_xyz, size(top_xyz, kind=c_size_t)), &
             'topology coordinates')
  print '(a,i0,a,3f9.4)', 'topology: ', n_top_atoms, ' atoms, first at', top_xyz(1:3)
  call check(steermd_topology_select(top, c_string('CA'), c_null_ptr, 0_c_size_t, n_ca), 'count CA')
  allocate(ca(n_ca))
  call check(steermd_topology_select(top, c_string('CA'), c_loc(ca), n_ca, n_ca), 'select CA')

  call check(steermd_trajectory_read_dcd(c_string(dcd_path), traj), 'read DCD')
  call check(steermd_trajectory_shape(traj, n_frames, n_atoms), 'trajectory shape')
  allocate(xyz(n_frames * n_ca * 3))
  call check(steermd_trajectory_gather(traj, ca, n_ca, xyz, size(xyz, kind=c_size_t)), 'gather CA')
  print '(i0,a,i0,a,i0,a)', n_frames, ' frames of ', n_atoms, ' atoms, ', n_ca, ' CA'

  allocate(maps(n_frames * n_ca * n_ca))
  call check(steermd_contact_maps(xyz, n_frames, n_ca, c_null_ptr, 0.8_c_float, maps, &
                                  size(maps, kind=c_size_t)), 'contact maps')
  print '(a,f8.2)', 'contacts per frame: ', real(sum(int(maps)), c_double) / real(n_frames, c_double)

  call check(steermd_encoder_load(c_string(model_dir), enc), 'load encoder')
  call check(steermd_encoder_shape(enc, input_size, latent_dim), 'encoder shape')
  if (input_size /= n_ca * n_ca) then
    print '(a)', 'model input size does not match the contact maps'
    stop 1
  end if
  allocate(input(size(maps)), z(n_frames * latent_dim), scores(n_frames))
  input = real(maps, c_float)
  call check(steermd_encoder_embed(enc, input, n_frames, size(input, kind=c_size_t), z, &
                                   size(z, kind=c_size_t)), 'embed')

  call check(steermd_lof(z, n_frames, latent_dim, 20_c_size_t, scores, n_frames), 'LOF')
  call check(steermd_top_outliers(scores, n_frames, 5_c_size_t, top5, 5_c_size_t, n_top), 'top outliers')
  do i = 1, n_top
    print '(a,i0,a,i0,a,f10.6,a,f10.6)', 'outlier ', i, ': frame ', top5(i), ' LOF ', &
        scores(top5(i) + 1), ' z0 ', z(top5(i) * latent_dim + 1)
  end do

  ! Errors come back as status codes with a message, never as a crash.
  status = steermd_encoder_embed(enc, input, n_frames + 1, size(input, kind=c_size_t), z, &
                                 size(z, kind=c_size_t))
  print '(a,i0,4a)', 'wrong batch size -> status ', status, ' ', steermd_status_name(status), &
      ': ', steermd_error_message()

  call steermd_encoder_free(enc)
  call steermd_trajectory_free(traj)
  call steermd_topology_free(top)
  deallocate(ca, xyz, input, z, maps, scores, top_xyz)

contains

  subroutine check(st, what)
    integer(c_int), intent(in) :: st
    character(len=*), intent(in) :: what
    if (st /= STEERMD_OK) then
      print '(5a)', what, ' failed: ', steermd_status_name(st), ': ', steermd_error_message()
      stop 1
    end if
  end subroutine
end program agent_step
