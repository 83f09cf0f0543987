/* One DeepDriveMD agent step through the steermd C ABI:
 * PDB + DCD -> Cα contact maps -> CVAE embedding -> LOF outliers.
 *
 * Build:  gcc agent_step.c -I include -L target/release -lsteermd -o agent_step
 * Run:    ./agent_step tests/data/villin.pdb tests/data/villin.dcd tests/data/cvae_trained
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
        fprintf(stderr, "usage: %s TOPOLOGY.pdb TRAJECTORY.dcd MODEL_DIR\n", argv[0]);
        return 2;
    }
    if (steermd_abi_version() != STEERMD_ABI_VERSION) {
        fprintf(stderr, "steermd.h describes ABI %d, the loaded library implements %u\n",
                STEERMD_ABI_VERSION, (unsigned)steermd_abi_version());
        return 1;
    }
    printf("steermd %s (ABI %u)\n", steermd_version(), (unsigned)steermd_abi_version());

    steermd_topology *top = NULL;
    CHECK(steermd_topology_read_pdb(argv[1], &top));
    size_t n_ca = 0;
    CHECK(steermd_topology_select(top, "CA", NULL, 0, &n_ca));
    size_t *ca = malloc(n_ca * sizeof *ca);
    CHECK(steermd_topology_select(top, "CA", ca, n_ca, &n_ca));

    steermd_trajectory *traj = NULL;
    CHECK(steermd_trajectory_read_dcd(argv[2], &traj));
    size_t n_frames = 0, n_atoms = 0;
    CHECK(steermd_trajectory_shape(traj, &n_frames, &n_atoms));
    float *xyz = malloc(n_frames * n_ca * 3 * sizeof *xyz);
    CHECK(steermd_trajectory_gather(traj, ca, n_ca, xyz, n_frames * n_ca * 3));
    printf("%zu frames of %zu atoms, %zu CA\n", n_frames, n_atoms, n_ca);

    /* Contact maps: 0.8 nm cutoff, no periodic box. */
    size_t map_len = n_frames * n_ca * n_ca;
    uint8_t *maps = malloc(map_len);
    CHECK(steermd_contact_maps(xyz, n_frames, n_ca, NULL, 0.8f, maps, map_len));
    size_t contacts = 0;
    for (size_t i = 0; i < map_len; ++i) contacts += maps[i];
    printf("contacts per frame: %.2f\n", (double)contacts / (double)n_frames);

    /* Embedding with the trained CVAE. */
    steermd_encoder *enc = NULL;
    CHECK(steermd_encoder_load(argv[3], &enc));
    size_t input_size = 0, latent_dim = 0;
    CHECK(steermd_encoder_shape(enc, &input_size, &latent_dim));
    if (input_size != n_ca * n_ca) {
        fprintf(stderr, "model expects %zu inputs per frame, maps have %zu\n", input_size, n_ca * n_ca);
        return 1;
    }
    float *input = malloc(map_len * sizeof *input);
    for (size_t i = 0; i < map_len; ++i) input[i] = (float)maps[i];
    float *z = malloc(n_frames * latent_dim * sizeof *z);
    CHECK(steermd_encoder_embed(enc, input, n_frames, map_len, z, n_frames * latent_dim));

    /* LOF outliers, 20 neighbours; the five most outlying frames. */
    double *scores = malloc(n_frames * sizeof *scores);
    CHECK(steermd_lof(z, n_frames, latent_dim, 20, scores, n_frames));
    int64_t top5[5];
    size_t n_top = 0;
    CHECK(steermd_top_outliers(scores, n_frames, 5, top5, 5, &n_top));
    for (size_t i = 0; i < n_top; ++i)
        printf("outlier %zu: frame %lld LOF %.6f z0 %.6f\n", i + 1, (long long)top5[i],
               scores[top5[i]], z[top5[i] * latent_dim]);

    /* Errors come back as status codes with a message, never as a crash. */
    steermd_status bad = steermd_contact_maps(NULL, n_frames, n_ca, NULL, 0.8f, maps, map_len);
    printf("NULL coordinates -> %s: %s\n", steermd_status_string(bad), steermd_last_error_message());

    steermd_encoder_free(enc);
    steermd_trajectory_free(traj);
    steermd_topology_free(top);
    free(scores); free(z); free(input); free(maps); free(xyz); free(ca);
    return 0;
}
