! A toy "legacy MPI code" in Fortran steered by steermd: examples/c/steer_mpi.c
! with the steermd_steering_t handle type and its type-bound procedures. Each
! rank runs its own dynamics (steermd_simulation handles standing in for the
! code's engine) on the bundled villin, hands every frame to the steering,
! calls iterate on every rank together and restarts where it is told.
!
! The MD constants are examples/steer/villin.toml's [md] and [ensemble], the
! seeds those steermd drive derives, so the restart choices equal `steermd
! drive`'s on that file (tools/test_install.sh checks under mpirun -n 2, 3).
!
! Build:  mpifort $(pkg-config --variable=fortran_module steermd) steer_mpi.f90 \
!                 $(pkg-config --libs steermd) -o steer_mpi_f90
! Run:    mpirun -n 2 ./steer_mpi_f90 CONFIG.toml SYSTEM.xml INPUT.pdb
! Prints one line per restart: restart ITERATION SIM FRAME_ID SOURCE_SIM COPY_VELOCITIES.
program steer_mpi
  use, intrinsic :: iso_c_binding
  use mpi
  use steermd
  implicit none

  integer(c_int64_t), parameter :: simulations = 5, report_interval = 25, seed = 3
  integer, parameter :: iterations = 3, frames_per_iteration = 4
  real(c_double), parameter :: temperature_k = 300.0_c_double

  character(len=4096) :: config, xml, pdb
  type(steermd_steering_t) :: steering
  type(c_ptr), allocatable :: sims(:)
  real(c_double), allocatable :: starts(:, :, :), x(:, :), v(:, :)
  integer(c_int64_t) :: first, count, i, n_restarts, n_local
  integer(c_size_t) :: n_atoms
  integer :: ierr, rank, nranks, it

  call mpi_init(ierr)
  if (command_argument_count() /= 3) then
    print '(a)', 'usage: steer_mpi_f90 CONFIG.toml SYSTEM.xml INPUT.pdb'
    call mpi_abort(MPI_COMM_WORLD, 2, ierr)
  end if
  call get_command_argument(1, config)
  call get_command_argument(2, xml)
  call get_command_argument(3, pdb)
  call mpi_comm_rank(MPI_COMM_WORLD, rank, ierr)
  call mpi_comm_size(MPI_COMM_WORLD, nranks, ierr)
  ! The first mod(simulations, nranks) ranks own one simulation more.
  n_local = simulations / nranks
  if (rank < mod(simulations, int(nranks, c_int64_t))) n_local = n_local + 1

  call check(steering%create_mpi(trim(config), MPI_COMM_WORLD, n_local), 'create_mpi')
  call check(steering%local_simulations(first, count), 'local_simulations')

  allocate(sims(count))
  do i = 1, count
    call new_member(first + i - 1, sims(i))
  end do

  do it = 0, iterations - 1
    do i = 1, count
      call run_md(first + i - 1, sims(i))
    end do
    call check(steering%iterate(n_restarts), 'iterate')
    if (rank == 0) print '(a, i0, a, i0)', 'iteration ', it, ' restarts ', n_restarts
    do i = 1, count
      call restart(first + i - 1, sims(i), i, it)
    end do
    flush(6)
  end do

  do i = 1, count
    call steermd_simulation_free(sims(i))
  end do
  call steering%free()
  call mpi_finalize(ierr)

contains

  subroutine new_member(id, sim)
    integer(c_int64_t), intent(in) :: id
    type(c_ptr), intent(out) :: sim
    type(steermd_integrator_options) :: opts
    call check(steermd_integrator_options_default(opts, c_sizeof(opts)), 'options')
    opts%temperature_k = temperature_k
    opts%seed = steermd_drive_seed(seed, STEERMD_SEED_NOISE, 0_c_int64_t, id)
    call check(steermd_simulation_create_xml(c_string(xml), c_string(pdb), opts, sim), 'create_xml')
    if (.not. allocated(x)) then
      call check(steermd_simulation_n_atoms(sim, n_atoms), 'n_atoms')
      allocate(x(3, n_atoms), v(3, n_atoms), starts(3, n_atoms, count))
    end if
    call check(steermd_simulation_get_positions(sim, starts(:, :, id - first + 1), 3 * n_atoms), &
               'get_positions')
    call check(steermd_simulation_set_velocities_to_temperature(sim, temperature_k, &
               steermd_drive_seed(seed, STEERMD_SEED_VELOCITIES, 0_c_int64_t, id)), 'velocities')
  end subroutine

  subroutine run_md(id, sim)
    integer(c_int64_t), intent(in) :: id
    type(c_ptr), intent(in) :: sim
    integer(c_int64_t) :: step
    real(c_double) :: time_ps
    integer(c_int) :: status
    integer :: k
    do k = 1, frames_per_iteration
      status = steermd_simulation_step(sim, report_interval)
      if (status == STEERMD_ERR_UNSTABLE) then
        call check(steering%mark_failed(id, steermd_error_message()), 'mark_failed')
        return
      end if
      call check(status, 'step')
      call check(steermd_simulation_progress(sim, step, time_ps), 'progress')
      call check(steermd_simulation_get_positions(sim, x, 3 * n_atoms), 'get_positions')
      call check(steermd_simulation_get_velocities(sim, v, 3 * n_atoms), 'get_velocities')
      call check(steering%add_frame(id, step, x, v), 'add_frame')
    end do
  end subroutine

  subroutine restart(id, sim, slot, it)
    integer(c_int64_t), intent(in) :: id
    type(c_ptr), intent(in) :: sim
    integer(c_int64_t), intent(in) :: slot
    integer, intent(in) :: it
    type(steermd_restart_info) :: info
    call check(steering%restart(id, info, x, v), 'restart')
    if (info%restarted == 0) return
    if (info%from_start == 1) x = starts(:, :, slot)
    call check(steermd_simulation_set_positions(sim, x, 3 * n_atoms), 'set_positions')
    if (info%copy_velocities == 1) then
      call check(steermd_simulation_set_velocities(sim, v, 3 * n_atoms), 'set_velocities')
    else
      call check(steermd_simulation_set_velocities_to_temperature(sim, temperature_k, &
                 steermd_drive_seed(seed, STEERMD_SEED_VELOCITIES, int(it + 1, c_int64_t), id)), &
                 'velocities')
    end if
    print '(a, i0, 1x, i0, 1x, i0, 1x, i0, 1x, i0)', 'restart ', it, id, info%frame_id, &
      info%source_simulation, info%copy_velocities
  end subroutine

  subroutine check(status, what)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: what
    integer :: e
    if (status /= STEERMD_OK) then
      print '(a, a, a, a, a)', what, ' failed: ', steermd_status_name(status), ': ', &
        steermd_error_message()
      call mpi_abort(MPI_COMM_WORLD, 1, e)
    end if
  end subroutine

end program steer_mpi
