// One DeepDriveMD agent step through the steermd C++ wrappers (steermd.hpp):
// PDB + DCD -> Cα contact maps -> CVAE embedding -> LOF outliers, as
// examples/c/agent_step.c does with the C ABI.
//
// Build:  g++ -std=c++17 agent_step.cpp $(pkg-config --cflags --libs steermd) -o agent_step
// Run:    ./agent_step tests/data/villin.pdb tests/data/villin.dcd tests/data/cvae_trained
#include <cstdio>
#include <exception>
#include <utility>

#include "steermd.hpp"

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s TOPOLOGY.pdb TRAJECTORY.dcd MODEL_DIR\n", argv[0]);
        return 2;
    }
    try {
        steermd::check_abi();
        std::printf("steermd %s (ABI %u)\n", steermd_version(), unsigned(steermd_abi_version()));

        auto top = steermd::topology::read_pdb(argv[1]);
        const auto ca = top.select("CA");
        auto traj = steermd::trajectory::read_dcd(argv[2]);
        const auto n_frames = traj.n_frames();
        const auto xyz = traj.gather(ca);
        std::printf("%zu frames of %zu atoms, %zu CA\n", n_frames, traj.n_atoms(), ca.size());

        // Contact maps: 0.8 nm cutoff, no periodic box.
        const auto maps = steermd::contact_maps(xyz, n_frames, ca.size(), 0.8f);
        std::size_t contacts = 0;
        for (auto m : maps) contacts += m;
        std::printf("contacts per frame: %.2f\n", double(contacts) / double(n_frames));

        // Handles are move-only: ownership passes, the moved-from object is empty.
        auto loaded = steermd::encoder::load(argv[3]);
        const steermd::encoder enc = std::move(loaded);
        if (loaded || !enc) throw steermd::error(STEERMD_ERR_INTERNAL, "move did not transfer");
        if (enc.input_size() != ca.size() * ca.size()) {
            throw steermd::error(STEERMD_ERR_SHAPE, "model input size differs from the maps'");
        }
        const std::vector<float> input(maps.begin(), maps.end());
        const auto z = enc.embed(input, n_frames);

        // LOF outliers, 20 neighbours; the five most outlying frames.
        const auto scores = steermd::lof(z, enc.latent_dim(), 20);
        const auto top5 = steermd::top_outliers(scores, 5);
        for (std::size_t i = 0; i < top5.size(); ++i) {
            const auto f = std::size_t(top5[i]);
            std::printf("outlier %zu: frame %lld LOF %.6f z0 %.6f\n", i + 1, (long long)top5[i],
                        scores[f], z[f * enc.latent_dim()]);
        }

        // Errors surface as steermd::error with the status and the message.
        try {
            enc.embed(input, n_frames + 1);
            std::printf("wrong batch size was accepted\n");
            return 1;
        } catch (const steermd::error &e) {
            std::printf("wrong batch size -> status %d %s\n", int(e.status()), e.what());
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "steermd: %s\n", e.what());
        return 1;
    }
    return 0;
}
