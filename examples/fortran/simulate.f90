! Minimize and run 1,000 Langevin steps through the steermd C ABI from an
! Amber prmtop + inpcrd (H-bond constraints, OBC2), printing energies every
! 100 steps.
!
! Build:  gfortran include/steermd.f90 simulate.f90 -L target/release -lsteermd -o simulate
! Run:    ./simulate tests/data/ff/prmtop_mbondi2/villin.prmtop tests/data/ff/prmtop_mbondi2/villin.inpcrd
program simulate
  use, intrinsic :: iso_c_binding
  use steermd
  implicit none

  character(len=1024) :: prmtop, inpcrd
  type(c_ptr) :: sim
  type(steermd_integrator_options) :: opts
  integer(c_size_t) :: n_atoms
  integer(c_int64_t) :: step
  real(c_double) :: energy, pot, kin, temp, time_ps
  integer :: block

  if (command_argument_count() /= 2) then
    print '(a)', 'usage: simulate SYSTEM.prmtop COORDS.inpcrd'
    stop 2
  end if
  call get_command_argument(1, prmtop)
  call get_command_argument(2, inpcrd)

  call check(steermd_integrator_options_default(opts, c_sizeof(opts)), 'options')
  opts%seed = 2024_c_int64_t
  call check(steermd_simulation_create_prmtop(trim(prmtop) // c_null_char, trim(inpcrd) // c_null_char, &
                                              c_null_ptr, opts, sim), 'create')
  call check(steermd_simulation_n_atoms(sim, n_atoms), 'n_atoms')
  call check(steermd_simulation_minimize(sim, 10.0_c_double, 0_c_size_t, energy), 'minimize')
  print '(a, i0, a, f14.6, a)', 'atoms ', n_atoms, ' minimized ', energy, ' kJ/mol'

  call check(steermd_simulation_set_velocities_to_temperature(sim, 300.0_c_double, 7_c_int64_t), 'velocities')
  do block = 1, 10
    call check(steermd_simulation_step(sim, 100_c_int64_t), 'step')
    call check(steermd_simulation_energies(sim, pot, kin, temp), 'energies')
    call check(steermd_simulation_progress(sim, step, time_ps), 'progress')
    print '(a, i0, a, f8.3, a, es25.17, a, es25.17, a, f8.2, a)', 'step ', step, ' time ', time_ps, &
      ' ps potential ', pot, ' kinetic ', kin, ' temperature ', temp, ' K'
  end do
  call steermd_simulation_free(sim)

contains

  subroutine check(status, what)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: what
    if (status /= STEERMD_OK) then
      print '(a, a, a)', trim(what), ' failed: ', steermd_error_message()
      stop 1
    end if
  end subroutine

end program simulate
