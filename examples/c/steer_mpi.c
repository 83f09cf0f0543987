/* A toy "legacy MPI code" steered by steermd through the C ABI.
 *
 * Each rank owns a contiguous block of the ensemble (uneven shares allowed)
 * and runs its own dynamics, here through steermd_simulation handles
 * standing in for the code's engine, on the bundled villin. Every reported
 * frame goes to the steering handle; once per iteration all ranks call
 * steermd_steering_iterate together (the agent step over MPI), and each
 * rank restarts its simulations where it is told.
 *
 * The MD settings below are those of examples/steer/villin.toml's [md]
 * section, and the seeds are the ones steermd drive derives
 * (steermd_drive_seed), so `steermd drive` on that file makes the same
 * restart choices; tools/test_install.sh checks it under mpirun -n 2 and 3.
 *
 * Build:  mpicc steer_mpi.c $(pkg-config --cflags --libs steermd) -o steer_mpi
 * Run:    mpirun -n 2 ./steer_mpi examples/steer/villin.toml \
 *             tests/data/ff/ildn_obc_cutoff/system.xml tests/data/ff/ildn_obc_cutoff/input.pdb [OUT_DIR]
 * Prints one line per restart: restart ITERATION SIM FRAME_ID SOURCE_SIM COPY_VELOCITIES,
 * and per iteration the outliers chosen: outliers ITERATION FRAME_ID...; with OUT_DIR, the
 * files steermd drive writes per iteration (OUT_DIR/iter_NNNN/latents.npy, rmsd.npy,
 * frame_ids.npy, restarts.json).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steermd.h"

enum {
    SIMULATIONS = 5,
    ITERATIONS = 3,
    FRAMES_PER_ITERATION = 4,
    REPORT_INTERVAL = 25, /* steps */
};
static const uint64_t SEED = 3;            /* [md] seed */
static const double TEMPERATURE_K = 300.0; /* [md] temperature */

/* On failure: print the call and steermd's message, end the whole job. */
#define CHECK(call)                                                                   \
    do {                                                                              \
        steermd_status status_ = (call);                                              \
        if (status_ != STEERMD_OK) {                                                  \
            fprintf(stderr, "%s failed: %s: %s\n", #call,                             \
                    steermd_status_string(status_), steermd_last_error_message());    \
            MPI_Abort(MPI_COMM_WORLD, 1);                                             \
        }                                                                             \
    } while (0)

/* One simulation this rank owns, and its starting positions. */
typedef struct {
    int64_t id;
    steermd_simulation *sim;
    double *start;
} member;

static member new_member(const char *xml, const char *pdb, int64_t id, size_t *n_atoms) {
    steermd_integrator_options opts;
    CHECK(steermd_integrator_options_default(&opts, sizeof opts));
    opts.temperature_k = TEMPERATURE_K;
    opts.seed = steermd_drive_seed(SEED, STEERMD_SEED_NOISE, 0, (uint64_t)id);
    member m = {id, NULL, NULL};
    CHECK(steermd_simulation_create_xml(xml, pdb, &opts, &m.sim));
    CHECK(steermd_simulation_n_atoms(m.sim, n_atoms));
    m.start = malloc(3 * *n_atoms * sizeof *m.start);
    CHECK(steermd_simulation_get_positions(m.sim, m.start, 3 * *n_atoms));
    uint64_t v_seed = steermd_drive_seed(SEED, STEERMD_SEED_VELOCITIES, 0, (uint64_t)id);
    CHECK(steermd_simulation_set_velocities_to_temperature(m.sim, TEMPERATURE_K, v_seed));
    return m;
}

/* Run one iteration of member m, handing every frame to the steering. */
static void run_md(steermd_steering *steering, member *m, double *x, double *v, size_t n) {
    for (int k = 0; k < FRAMES_PER_ITERATION; ++k) {
        steermd_status st = steermd_simulation_step(m->sim, REPORT_INTERVAL);
        if (st == STEERMD_ERR_UNSTABLE) {
            CHECK(steermd_steering_mark_failed(steering, m->id, steermd_last_error_message()));
            return;
        }
        CHECK(st);
        uint64_t step = 0;
        double time_ps = 0.0;
        CHECK(steermd_simulation_progress(m->sim, &step, &time_ps));
        CHECK(steermd_simulation_get_positions(m->sim, x, 3 * n));
        CHECK(steermd_simulation_get_velocities(m->sim, v, 3 * n));
        CHECK(steermd_steering_add_frame(steering, m->id, (int64_t)step, x, n, v, NULL));
    }
}

/* Put member m where the steering says after iteration it. */
static void restart(const steermd_steering *steering, member *m, int it, double *x, double *v,
                    size_t n) {
    steermd_restart_info info;
    CHECK(steermd_steering_restart(steering, m->id, &info, x, v, 3 * n, NULL));
    if (!info.restarted) return;
    CHECK(steermd_simulation_set_positions(m->sim, info.from_start ? m->start : x, 3 * n));
    if (info.copy_velocities) {
        CHECK(steermd_simulation_set_velocities(m->sim, v, 3 * n));
    } else {
        uint64_t seed = steermd_drive_seed(SEED, STEERMD_SEED_VELOCITIES, (uint64_t)it + 1,
                                           (uint64_t)m->id);
        CHECK(steermd_simulation_set_velocities_to_temperature(m->sim, TEMPERATURE_K, seed));
    }
    printf("restart %d %lld %lld %lld %d\n", it, (long long)m->id, (long long)info.frame_id,
           (long long)info.source_simulation, info.copy_velocities);
}

/* The iteration's outliers (the same on every rank): ids, LOF scores, RMSDs. */
static void print_outliers(const steermd_steering *steering, int it) {
    size_t n = 0;
    CHECK(steermd_steering_outliers(steering, NULL, NULL, NULL, 0, &n));
    int64_t *ids = malloc((n + 1) * sizeof *ids);
    double *scores = malloc((n + 1) * sizeof *scores);
    double *rmsd = malloc((n + 1) * sizeof *rmsd);
    CHECK(steermd_steering_outliers(steering, ids, scores, rmsd, n, &n));
    printf("outliers %d", it);
    for (size_t i = 0; i < n; ++i) printf(" %lld", (long long)ids[i]);
    printf("\n");
    for (size_t i = 0; i < n; ++i)
        printf("outlier %d frame %lld score %.6f rmsd %.4f nm\n", it, (long long)ids[i], scores[i],
               rmsd[i]);
    free(ids);
    free(scores);
    free(rmsd);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s CONFIG.toml SYSTEM.xml INPUT.pdb [OUT_DIR]\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* The first SIMULATIONS % size ranks own one simulation more. */
    int64_t n_local = SIMULATIONS / size + (rank < SIMULATIONS % size);

    steermd_steering *steering = NULL;
    CHECK(steermd_steering_create_mpi(argv[1], MPI_Comm_c2f(MPI_COMM_WORLD), n_local, &steering));
    int64_t first = 0, count = 0;
    CHECK(steermd_steering_local_simulations(steering, &first, &count));

    size_t n = 0;
    member *members = malloc((size_t)count * sizeof *members);
    for (int64_t i = 0; i < count; ++i) members[i] = new_member(argv[2], argv[3], first + i, &n);
    double *x = malloc(3 * n * sizeof *x);
    double *v = malloc(3 * n * sizeof *v);

    for (int it = 0; it < ITERATIONS; ++it) {
        for (int64_t i = 0; i < count; ++i) run_md(steering, &members[i], x, v, n);
        int64_t n_restarts = 0;
        CHECK(steermd_steering_iterate(steering, &n_restarts));
        if (rank == 0) {
            printf("iteration %d restarts %lld\n", it, (long long)n_restarts);
            print_outliers(steering, it);
        }
        /* Optionally the per-iteration files steermd drive writes (rank 0). */
        if (argc == 5) CHECK(steermd_steering_write_outputs(steering, argv[4]));
        for (int64_t i = 0; i < count; ++i) restart(steering, &members[i], it, x, v, n);
        fflush(stdout);
    }

    for (int64_t i = 0; i < count; ++i) {
        steermd_simulation_free(members[i].sim);
        free(members[i].start);
    }
    free(members);
    free(x);
    free(v);
    steermd_steering_free(steering); /* before MPI_Finalize: it frees a communicator */
    MPI_Finalize();
    return 0;
}
