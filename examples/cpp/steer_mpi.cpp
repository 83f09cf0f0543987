/* A toy "legacy MPI code" in C++ steered by steermd: examples/c/steer_mpi.c
 * with the RAII wrappers of steermd.hpp (steermd::steering,
 * steermd::simulation; a failing call throws steermd::error). Each rank
 * runs its own dynamics on the bundled villin, hands every frame to the
 * steering, iterates with the other ranks and restarts where it is told.
 *
 * The MD constants are examples/steer/villin.toml's [md] and [ensemble], the
 * seeds those steermd drive derives, so the restart choices equal `steermd
 * drive`'s on that file (tools/test_install.sh checks under mpirun -n 2, 3).
 *
 * Build:  mpicxx -std=c++17 steer_mpi.cpp $(pkg-config --cflags --libs steermd) -o steer_mpi_cpp
 * Run:    mpirun -n 2 ./steer_mpi_cpp CONFIG.toml SYSTEM.xml INPUT.pdb
 * Prints one line per restart: restart ITERATION SIM FRAME_ID SOURCE_SIM COPY_VELOCITIES.
 */
// The C API of MPI only: MPI's deprecated C++ bindings do not compile warning-free.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "steermd.hpp"

namespace {

constexpr std::int64_t kSimulations = 5;
constexpr int kIterations = 3;
constexpr int kFramesPerIteration = 4;
constexpr std::uint64_t kReportInterval = 25;  // steps
constexpr std::uint64_t kSeed = 3;             // [md] seed
constexpr double kTemperatureK = 300.0;

struct member {
    std::int64_t id;
    steermd::simulation sim;
    std::vector<double> start;  // nm
};

member new_member(const char *xml, const char *pdb, std::int64_t id) {
    auto opts = steermd::integrator_options_default();
    opts.temperature_k = kTemperatureK;
    opts.seed = steermd::drive_seed(kSeed, STEERMD_SEED_NOISE, 0, id);
    auto sim = steermd::simulation::create_xml(xml, pdb, opts);
    auto start = sim.positions();
    sim.set_velocities_to_temperature(kTemperatureK,
                                      steermd::drive_seed(kSeed, STEERMD_SEED_VELOCITIES, 0, id));
    return member{id, std::move(sim), std::move(start)};
}

void run_md(steermd::steering &steering, member &m) {
    for (int k = 0; k < kFramesPerIteration; ++k) {
        try {
            m.sim.step(kReportInterval);
        } catch (const steermd::error &e) {
            if (e.status() != STEERMD_ERR_UNSTABLE) throw;
            steering.mark_failed(m.id, e.what());
            return;
        }
        steering.add_frame(m.id, static_cast<std::int64_t>(m.sim.step_count()), m.sim.positions(),
                           m.sim.velocities());
    }
}

void restart(const steermd::steering &steering, member &m, int it) {
    auto r = steering.restart(m.id, m.start.size() / 3);
    if (!r.info.restarted) return;
    m.sim.set_positions(r.info.from_start ? m.start : r.positions);
    if (r.info.copy_velocities) {
        m.sim.set_velocities(r.velocities);
    } else {
        m.sim.set_velocities_to_temperature(
            kTemperatureK, steermd::drive_seed(kSeed, STEERMD_SEED_VELOCITIES, it + 1, m.id));
    }
    std::printf("restart %d %lld %lld %lld %d\n", it, static_cast<long long>(m.id),
                static_cast<long long>(r.info.frame_id),
                static_cast<long long>(r.info.source_simulation), r.info.copy_velocities);
}

int run(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s CONFIG.toml SYSTEM.xml INPUT.pdb\n", argv[0]);
        return 2;
    }
    steermd::check_abi();
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    // The first kSimulations % size ranks own one simulation more.
    std::int64_t n_local = kSimulations / size + (rank < kSimulations % size ? 1 : 0);
    auto steering =
        steermd::steering::collective(argv[1], MPI_Comm_c2f(MPI_COMM_WORLD), n_local);
    auto [first, count] = steering.local_simulations();
    std::vector<member> members;
    for (std::int64_t i = 0; i < count; ++i) members.push_back(new_member(argv[2], argv[3], first + i));

    for (int it = 0; it < kIterations; ++it) {
        for (auto &m : members) run_md(steering, m);
        std::int64_t n_restarts = steering.iterate();
        if (rank == 0) std::printf("iteration %d restarts %lld\n", it, static_cast<long long>(n_restarts));
        for (auto &m : members) restart(steering, m, it);
        std::fflush(stdout);
    }
    return 0;  // steering and simulations are freed here, before MPI_Finalize
}

}  // namespace

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int code = 0;
    try {
        code = run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "steer_mpi: %s\n", e.what());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (code != 0) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
    return 0;
}
