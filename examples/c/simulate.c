/* Minimize and run 1,000 Langevin steps through the steermd C ABI, from an
 * OpenMM System XML and a PDB, printing energies every 100 steps.
 *
 * Build:  gcc simulate.c -I include -L target/release -lsteermd -lm -o simulate
 * Run:    ./simulate tests/data/ff/ildn_obc_nocutoff/system.xml \
 *                    tests/data/ff/ildn_obc_nocutoff/input.pdb out.dcd
 */
#include <stdio.h>
#include <stdlib.h>

#include "steermd.h"

#define CHECK(call)                                                              \
    do {                                                                         \
        steermd_status status_ = (call);                                         \
        if (status_ != STEERMD_OK) {                                             \
            fprintf(stderr, "%s failed: %s: %s\n", #call,                        \
                    steermd_status_string(status_), steermd_last_error_message()); \
            return 1;                                                            \
        }                                                                        \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SYSTEM.xml INPUT.pdb OUT.dcd\n", argv[0]);
        return 2;
    }
    steermd_integrator_options opts;
    /* Langevin, 2 fs, 300 K, 1/ps; sizeof lets later library versions add fields. */
    CHECK(steermd_integrator_options_default(&opts, sizeof opts));
    opts.seed = 2024;

    steermd_simulation *sim = NULL;
    CHECK(steermd_simulation_create_xml(argv[1], argv[2], &opts, &sim));
    size_t n_atoms = 0;
    CHECK(steermd_simulation_n_atoms(sim, &n_atoms));

    double energy = 0.0;
    CHECK(steermd_simulation_minimize(sim, 10.0, 0, &energy));
    printf("atoms %zu minimized %.6f kJ/mol\n", n_atoms, energy);

    CHECK(steermd_simulation_set_velocities_to_temperature(sim, 300.0, 7));
    CHECK(steermd_simulation_add_dcd_reporter(sim, argv[3], 100));
    for (int block = 1; block <= 10; ++block) {
        CHECK(steermd_simulation_step(sim, 100));
        double pot = 0.0, kin = 0.0, temp = 0.0, time_ps = 0.0;
        uint64_t step = 0;
        CHECK(steermd_simulation_energies(sim, &pot, &kin, &temp));
        CHECK(steermd_simulation_progress(sim, &step, &time_ps));
        printf("step %llu time %.3f ps potential %.17g kinetic %.17g temperature %.2f K\n",
               (unsigned long long)step, time_ps, pot, kin, temp);
    }

    double *xyz = malloc(3 * n_atoms * sizeof *xyz);
    CHECK(steermd_simulation_get_positions(sim, xyz, 3 * n_atoms));
    printf("first atom %.17g %.17g %.17g nm\n", xyz[0], xyz[1], xyz[2]);
    free(xyz);

    /* Bad input is reported, never a crash: positions of the wrong length. */
    double one[3] = {0.0, 0.0, 0.0};
    if (steermd_simulation_set_positions(sim, one, 3) == STEERMD_OK) return 1;
    printf("refused: %s\n", steermd_last_error_message());

    steermd_simulation_free(sim);
    return 0;
}
