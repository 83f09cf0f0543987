/* steermd C++17 wrappers: header-only, over the C ABI of steermd.h.
 * Units: nm, ps, kJ/mol, amu, K, elementary charge.
 *
 * Each handle (topology, trajectory, encoder, simulation, steering) is owned by one
 * move-only object that frees it on destruction. A failing call throws
 * steermd::error, which carries the status code and the library's message
 * (steermd_last_error_message()). Functions that fill caller buffers take and
 * return std::vector.
 */
#ifndef STEERMD_HPP
#define STEERMD_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "steermd.h"

namespace steermd {

/* A failed steermd call: its status and the library's message. */
class error : public std::runtime_error {
public:
    error(steermd_status status, const std::string &what)
        : std::runtime_error(what), status_(status) {}
    steermd_status status() const noexcept { return status_; }

private:
    steermd_status status_;
};

/* Throw steermd::error unless `status` is STEERMD_OK. */
inline void check(steermd_status status) {
    if (status != STEERMD_OK) {
        throw error(status, std::string(steermd_status_string(status)) + ": " +
                                steermd_last_error_message());
    }
}

/* Throw unless the loaded library implements the ABI this header describes. */
inline void check_abi() {
    if (steermd_abi_version() != STEERMD_ABI_VERSION) {
        throw error(STEERMD_ERR_INVALID_ARGUMENT,
                    "steermd.h describes ABI " + std::to_string(STEERMD_ABI_VERSION) +
                        ", the loaded library implements " +
                        std::to_string(steermd_abi_version()));
    }
}

namespace detail {
/* Unique ownership of a C handle `T*` released by `Free`. */
template <typename T, void (*Free)(T *)>
class handle {
public:
    handle() noexcept = default;
    explicit handle(T *raw) noexcept : raw_(raw) {}
    handle(const handle &) = delete;
    handle &operator=(const handle &) = delete;
    handle(handle &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    handle &operator=(handle &&other) noexcept {
        if (this != &other) {
            reset();
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    ~handle() { reset(); }
    T *get() const noexcept { return raw_; }
    explicit operator bool() const noexcept { return raw_ != nullptr; }
    void reset() noexcept {
        if (raw_ != nullptr) Free(std::exchange(raw_, nullptr));
    }

private:
    T *raw_ = nullptr;
};
}  // namespace detail

/* A topology read from a PDB file (first model). */
class topology {
public:
    static topology read_pdb(const std::string &path) {
        steermd_topology *raw = nullptr;
        check(steermd_topology_read_pdb(path.c_str(), &raw));
        return topology(raw);
    }
    std::size_t n_atoms() const {
        std::size_t n = 0;
        check(steermd_topology_n_atoms(h_.get(), &n));
        return n;
    }
    /* 0-based indices of the atoms named in `names` (comma-separated, e.g. "CA"). */
    std::vector<std::size_t> select(const std::string &names) const {
        std::size_t n = 0;
        check(steermd_topology_select(h_.get(), names.c_str(), nullptr, 0, &n));
        std::vector<std::size_t> indices(n);
        check(steermd_topology_select(h_.get(), names.c_str(), indices.data(), n, &n));
        return indices;
    }
    /* Coordinates, nm, [atom][xyz]. */
    std::vector<float> coordinates() const {
        std::vector<float> xyz(3 * n_atoms());
        check(steermd_topology_coordinates(h_.get(), xyz.data(), xyz.size()));
        return xyz;
    }
    steermd_topology *get() const noexcept { return h_.get(); }
    /* False once moved from. */
    explicit operator bool() const noexcept { return bool(h_); }

private:
    explicit topology(steermd_topology *raw) : h_(raw) {}
    detail::handle<steermd_topology, steermd_topology_free> h_;
};

/* A trajectory: frames of coordinates (nm). */
class trajectory {
public:
    /* DCD, Amber NetCDF (.nc, .ncrst, ...) or XTC, by extension or content. */
    static trajectory read(const std::string &path) {
        steermd_trajectory *raw = nullptr;
        check(steermd_trajectory_read(path.c_str(), &raw));
        return trajectory(raw);
    }
    static trajectory read_dcd(const std::string &path) {
        steermd_trajectory *raw = nullptr;
        check(steermd_trajectory_read_dcd(path.c_str(), &raw));
        return trajectory(raw);
    }
    std::size_t n_frames() const {
        std::size_t n = 0;
        check(steermd_trajectory_shape(h_.get(), &n, nullptr));
        return n;
    }
    std::size_t n_atoms() const {
        std::size_t n = 0;
        check(steermd_trajectory_shape(h_.get(), nullptr, &n));
        return n;
    }
    /* The selected atoms of every frame, nm, [frame][selected atom][xyz]. */
    std::vector<float> gather(const std::vector<std::size_t> &selection) const {
        std::vector<float> xyz(n_frames() * selection.size() * 3);
        check(steermd_trajectory_gather(h_.get(), selection.data(), selection.size(),
                                        xyz.data(), xyz.size()));
        return xyz;
    }
    steermd_trajectory *get() const noexcept { return h_.get(); }
    /* False once moved from. */
    explicit operator bool() const noexcept { return bool(h_); }

private:
    explicit trajectory(steermd_trajectory *raw) : h_(raw) {}
    detail::handle<steermd_trajectory, steermd_trajectory_free> h_;
};

/* A loaded encoder (CVAE or AAE weights and configuration). */
class encoder {
public:
    static encoder load(const std::string &dir) {
        steermd_encoder *raw = nullptr;
        check(steermd_encoder_load(dir.c_str(), &raw));
        return encoder(raw);
    }
    /* Values per input sample. */
    std::size_t input_size() const {
        std::size_t n = 0;
        check(steermd_encoder_shape(h_.get(), &n, nullptr));
        return n;
    }
    std::size_t latent_dim() const {
        std::size_t n = 0;
        check(steermd_encoder_shape(h_.get(), nullptr, &n));
        return n;
    }
    /* Latent means of `batch` samples (`input`: batch * input_size floats). */
    std::vector<float> embed(const std::vector<float> &input, std::size_t batch) const {
        std::vector<float> latent(batch * latent_dim());
        check(steermd_encoder_embed(h_.get(), input.data(), batch, input.size(),
                                    latent.data(), latent.size()));
        return latent;
    }
    steermd_encoder *get() const noexcept { return h_.get(); }
    /* False once moved from. */
    explicit operator bool() const noexcept { return bool(h_); }

private:
    explicit encoder(steermd_encoder *raw) : h_(raw) {}
    detail::handle<steermd_encoder, steermd_encoder_free> h_;
};

/* Potential and kinetic energy (kJ/mol) and temperature (K). */
struct energies {
    double potential_kj_mol;
    double kinetic_kj_mol;
    double temperature_k;
};

inline steermd_integrator_options integrator_options_default() {
    steermd_integrator_options o{};
    check(steermd_integrator_options_default(&o, sizeof o));
    return o;
}

inline steermd_prmtop_options prmtop_options_default() {
    steermd_prmtop_options o{};
    check(steermd_prmtop_options_default(&o, sizeof o));
    return o;
}

/* A simulation: system, state (nm, nm/ps) and integrator. */
class simulation {
public:
    static simulation create_xml(const std::string &system_xml, const std::string &pdb,
                                 const steermd_integrator_options &options) {
        steermd_simulation *raw = nullptr;
        check(steermd_simulation_create_xml(system_xml.c_str(), pdb.c_str(), &options, &raw));
        return simulation(raw);
    }
    static simulation create_prmtop(const std::string &prmtop, const std::string &inpcrd,
                                    const steermd_prmtop_options &prmtop_options,
                                    const steermd_integrator_options &options) {
        steermd_simulation *raw = nullptr;
        check(steermd_simulation_create_prmtop(prmtop.c_str(), inpcrd.c_str(), &prmtop_options,
                                               &options, &raw));
        return simulation(raw);
    }
    std::size_t n_atoms() const {
        std::size_t n = 0;
        check(steermd_simulation_n_atoms(h_.get(), &n));
        return n;
    }
    /* Positions, nm, [atom][xyz]. */
    std::vector<double> positions() const {
        std::vector<double> xyz(3 * n_atoms());
        check(steermd_simulation_get_positions(h_.get(), xyz.data(), xyz.size()));
        return xyz;
    }
    void set_positions(const std::vector<double> &xyz) {
        check(steermd_simulation_set_positions(h_.get(), xyz.data(), xyz.size()));
    }
    /* Velocities, nm/ps. */
    std::vector<double> velocities() const {
        std::vector<double> v(3 * n_atoms());
        check(steermd_simulation_get_velocities(h_.get(), v.data(), v.size()));
        return v;
    }
    void set_velocities(const std::vector<double> &v) {
        check(steermd_simulation_set_velocities(h_.get(), v.data(), v.size()));
    }
    void set_velocities_to_temperature(double temperature_k, std::uint64_t seed) {
        check(steermd_simulation_set_velocities_to_temperature(h_.get(), temperature_k, seed));
    }
    steermd::energies energies() const {
        steermd::energies e{};
        check(steermd_simulation_energies(h_.get(), &e.potential_kj_mol, &e.kinetic_kj_mol,
                                          &e.temperature_k));
        return e;
    }
    /* Forces, kJ/mol/nm, [atom][xyz]. */
    std::vector<double> forces() const {
        std::vector<double> f(3 * n_atoms());
        check(steermd_simulation_get_forces(h_.get(), f.data(), f.size()));
        return f;
    }
    /* Minimize to an RMS force below `tolerance` (kJ/mol/nm); returns the
     * final potential energy (kJ/mol). */
    double minimize(double tolerance, std::size_t max_iterations = 0) {
        double e = 0.0;
        check(steermd_simulation_minimize(h_.get(), tolerance, max_iterations, &e));
        return e;
    }
    void step(std::uint64_t n_steps) { check(steermd_simulation_step(h_.get(), n_steps)); }
    /* Steps taken so far. */
    std::uint64_t step_count() const {
        std::uint64_t step = 0;
        double time_ps = 0.0;
        check(steermd_simulation_progress(h_.get(), &step, &time_ps));
        return step;
    }
    void add_dcd_reporter(const std::string &path, std::uint64_t interval) {
        check(steermd_simulation_add_dcd_reporter(h_.get(), path.c_str(), interval));
    }
    void save_checkpoint(const std::string &path) {
        check(steermd_simulation_save_checkpoint(h_.get(), path.c_str()));
    }
    void load_checkpoint(const std::string &path) {
        check(steermd_simulation_load_checkpoint(h_.get(), path.c_str()));
    }
    steermd_simulation *get() const noexcept { return h_.get(); }
    /* False once moved from. */
    explicit operator bool() const noexcept { return bool(h_); }

private:
    explicit simulation(steermd_simulation *raw) : h_(raw) {}
    detail::handle<steermd_simulation, steermd_simulation_free> h_;
};

/* Where a local simulation restarts from after an iteration. */
struct restart_point {
    steermd_restart_info info{};
    /* nm, 3 * atoms values, when it restarts from a frame (not from_start). */
    std::vector<double> positions;
    /* nm/ps, when info.copy_velocities; else draw new ones at the bath temperature. */
    std::vector<double> velocities;
    /* nm, 9 values (row-major box vectors), when info.has_box. */
    std::vector<double> box;
};

/* The steering loop of steermd_steering_* for a code that runs its own
 * dynamics: hand over frames, iterate on every rank together, restart.
 * Destroy (or reset) before MPI_Finalize: it owns a duplicated communicator. */
class steering {
public:
    /* One process owning all `n_simulations`; `config` is a campaign TOML
     * path or text ([analysis], [agent], md.seed). */
    static steering single_process(const std::string &config, std::int64_t n_simulations) {
        steermd_steering *raw = nullptr;
        check(steermd_steering_create(config.c_str(), n_simulations, &raw));
        return steering(raw);
    }
    /* Collectively on every rank of the communicator whose Fortran handle is
     * `fortran_comm` (MPI_Comm_c2f(comm)); this rank owns `n_local`. */
    static steering collective(const std::string &config, std::int32_t fortran_comm,
                               std::int64_t n_local) {
        steermd_steering *raw = nullptr;
        check(steermd_steering_create_mpi(config.c_str(), fortran_comm, n_local, &raw));
        return steering(raw);
    }
    /* The simulations this rank owns: ids first .. first + count - 1. */
    std::pair<std::int64_t, std::int64_t> local_simulations() const {
        std::int64_t first = 0, count = 0;
        check(steermd_steering_local_simulations(h_.get(), &first, &count));
        return {first, count};
    }
    /* A frame of local simulation `sim` after MD step `step`: positions nm
     * (3 * atoms), velocities nm/ps and box nm (9 values), each optional
     * (empty). */
    void add_frame(std::int64_t sim, std::int64_t step, const std::vector<double> &positions,
                   const std::vector<double> &velocities = {},
                   const std::vector<double> &box = {}) {
        check_frame(positions.size(), velocities.size(), box.size());
        check(steermd_steering_add_frame(h_.get(), sim, step, positions.data(),
                                         positions.size() / 3,
                                         velocities.empty() ? nullptr : velocities.data(),
                                         box.empty() ? nullptr : box.data()));
    }
    /* add_frame for single-precision arrays (nm, nm/ps, nm), widened exactly. */
    void add_frame(std::int64_t sim, std::int64_t step, const std::vector<float> &positions,
                   const std::vector<float> &velocities = {}, const std::vector<float> &box = {}) {
        check_frame(positions.size(), velocities.size(), box.size());
        check(steermd_steering_add_frame_f32(h_.get(), sim, step, positions.data(),
                                             positions.size() / 3,
                                             velocities.empty() ? nullptr : velocities.data(),
                                             box.empty() ? nullptr : box.data()));
    }
    /* The last iteration's outliers in restart-preference order. */
    struct outlier_set {
        std::vector<std::int64_t> frame_ids;
        std::vector<double> scores;   /* LOF negative_outlier_factor_; NaN for DBSCAN */
        std::vector<double> rmsd_nm;  /* RMSD to the reference, nm */
    };
    outlier_set outliers() const {
        std::size_t n = 0;
        check(steermd_steering_outliers(h_.get(), nullptr, nullptr, nullptr, 0, &n));
        outlier_set o{std::vector<std::int64_t>(n), std::vector<double>(n), std::vector<double>(n)};
        check(steermd_steering_outliers(h_.get(), o.frame_ids.data(), o.scores.data(),
                                        o.rmsd_nm.data(), n, &n));
        return o;
    }
    /* Write the last iteration's outputs under dir/iter_NNNN as steermd drive
     * does (latents.npy, rmsd.npy, frame_ids.npy, restarts.json); rank 0 writes. */
    void write_outputs(const std::string &dir) const {
        check(steermd_steering_write_outputs(h_.get(), dir.c_str()));
    }
    /* Local simulation `sim` blew up this iteration. */
    void mark_failed(std::int64_t sim, const std::string &message) {
        check(steermd_steering_mark_failed(h_.get(), sim, message.c_str()));
    }
    /* One iteration, collectively; how many simulations of the ensemble restart. */
    std::int64_t iterate() {
        std::int64_t n = 0;
        check(steermd_steering_iterate(h_.get(), &n));
        return n;
    }
    /* Where local simulation `sim` (of `n_atoms` atoms) restarts from. */
    restart_point restart(std::int64_t sim, std::size_t n_atoms) const {
        restart_point r;
        std::vector<double> x(3 * n_atoms), v(3 * n_atoms), box(9);
        check(steermd_steering_restart(h_.get(), sim, &r.info, x.data(), v.data(), x.size(),
                                       box.data()));
        if (r.info.restarted && !r.info.from_start) r.positions = std::move(x);
        if (r.info.restarted && r.info.copy_velocities) r.velocities = std::move(v);
        if (r.info.restarted && r.info.has_box) r.box = std::move(box);
        return r;
    }
    steermd_steering *get() const noexcept { return h_.get(); }
    /* Free the handle now (before MPI_Finalize); false afterwards. */
    void reset() noexcept { h_.reset(); }
    explicit operator bool() const noexcept { return bool(h_); }

private:
    explicit steering(steermd_steering *raw) : h_(raw) {}
    static void check_frame(std::size_t positions, std::size_t velocities, std::size_t box) {
        if (positions % 3 != 0 || (velocities != 0 && velocities != positions) ||
            (box != 0 && box != 9)) {
            throw error(STEERMD_ERR_SHAPE,
                        "steering::add_frame: positions must hold 3 * atoms values, velocities "
                        "as many or none, box 9 or none");
        }
    }
    detail::handle<steermd_steering, steermd_steering_free> h_;
};

/* The seed steermd drive uses for `stream` at (`iteration`, `simulation`). */
inline std::uint64_t drive_seed(std::uint64_t seed, steermd_seed_stream stream,
                                std::uint64_t iteration, std::uint64_t simulation) {
    return steermd_drive_seed(seed, static_cast<std::int32_t>(stream), iteration, simulation);
}

/* Contact maps (0/1, [frame][i][j]) of `n_frames` frames of `n_atoms` atoms
 * (`xyz`, nm), contact when the distance is below `cutoff` (nm). */
inline std::vector<std::uint8_t> contact_maps(const std::vector<float> &xyz, std::size_t n_frames,
                                              std::size_t n_atoms, float cutoff) {
    std::vector<std::uint8_t> maps(n_frames * n_atoms * n_atoms);
    check(steermd_contact_maps(xyz.data(), n_frames, n_atoms, nullptr, cutoff, maps.data(),
                               maps.size()));
    return maps;
}

/* Local outlier factor scores of `points` (n * dim, row-major). */
inline std::vector<double> lof(const std::vector<float> &points, std::size_t dim,
                               std::size_t n_neighbors) {
    const std::size_t n = dim == 0 ? 0 : points.size() / dim;
    std::vector<double> scores(n);
    check(steermd_lof(points.data(), n, dim, n_neighbors, scores.data(), scores.size()));
    return scores;
}

/* The `count` most outlying points by score, most outlying first. */
inline std::vector<std::int64_t> top_outliers(const std::vector<double> &scores,
                                              std::size_t count) {
    std::vector<std::int64_t> indices(count);
    std::size_t written = 0;
    check(steermd_top_outliers(scores.data(), scores.size(), count, indices.data(),
                               indices.size(), &written));
    indices.resize(written);
    return indices;
}

}  // namespace steermd

#endif /* STEERMD_HPP */
