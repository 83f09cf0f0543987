/* Shared by every kernel family, after the runtime's prelude.
 *
 * Precision: `mixed` is always double (positions, energies, accumulation);
 * `real` is the pair-math type: double with USE_DOUBLE, float otherwise
 * (the `mixed` precision mode).
 *
 * Forces are accumulated in 64-bit fixed point with 2^32 units per
 * kJ/mol/nm, as OpenMM's GPU platforms do: integer sums do not depend on the
 * order in which work items add them, so results are bitwise reproducible
 * for any launch configuration. A per-atom force beyond 2^31 kJ/mol/nm
 * wraps (OpenMM has the same limit); the stability limit is far below it.
 *
 * Energies are written to per-term or per-row slots (double) and summed in
 * a fixed order by reduce_energy (reduce.k).
 */
#ifdef USE_DOUBLE
typedef double real;
#else
typedef float real;
#endif
typedef double mixed;

#define FORCE_SCALE ((mixed) 4294967296.0)

DEVICE INLINE void add_force(GLOBAL int64* force, int atom, mixed fx, mixed fy, mixed fz) {
    ATOMIC_ADD(&force[3 * atom], (int64) (fx * FORCE_SCALE));
    ATOMIC_ADD(&force[3 * atom + 1], (int64) (fy * FORCE_SCALE));
    ATOMIC_ADD(&force[3 * atom + 2], (int64) (fz * FORCE_SCALE));
}

/* `to - from` for atoms `from` and `to` (nm, double), minimum image in the
 * reduced box `b` (nm, rows a, b, c) when `periodic`: subtract c, b, a
 * rounded with floor(x/L + 0.5), as OpenMM's getDeltaRPeriodic. */
DEVICE INLINE void delta_mixed(GLOBAL const mixed* pos, GLOBAL const mixed* b, int from, int to,
                               int periodic, mixed* d) {
    mixed x = pos[3 * to] - pos[3 * from];
    mixed y = pos[3 * to + 1] - pos[3 * from + 1];
    mixed z = pos[3 * to + 2] - pos[3 * from + 2];
    if (periodic) {
        mixed s = floor(z / b[8] + 0.5);
        x -= s * b[6];
        y -= s * b[7];
        z -= s * b[8];
        s = floor(y / b[4] + 0.5);
        x -= s * b[3];
        y -= s * b[4];
        s = floor(x / b[0] + 0.5);
        x -= s * b[0];
    }
    d[0] = x;
    d[1] = y;
    d[2] = z;
}

/* delta_mixed rounded to the pair-math type. */
DEVICE INLINE void delta(GLOBAL const mixed* pos, GLOBAL const mixed* b, int from, int to,
                         int periodic, real* d) {
    mixed m[3];
    delta_mixed(pos, b, from, to, periodic, m);
    d[0] = (real) m[0];
    d[1] = (real) m[1];
    d[2] = (real) m[2];
}

/* The j of row i for a row kernel: with a neighbour list (cap > 0,
 * kernels/neighbors.k) its first min(count[i], cap) entries, ascending;
 * without one (cap == 0) every atom 0..n-1. Both walks visit the pairs
 * within a cutoff in the same order. */
DEVICE INLINE int row_length(int n, int i, GLOBAL const int* count, int cap) {
    return cap > 0 ? min(count[i], cap) : n;
}

DEVICE INLINE int row_atom(int i, int k, GLOBAL const int* list, int cap) {
    return cap > 0 ? list[i * cap + k] : k;
}

DEVICE INLINE real dot3(const real* a, const real* b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

DEVICE INLINE void cross3(const real* a, const real* b, real* c) {
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

KERNEL void zero_forces(int count, GLOBAL int64* force) {
    for (int k = GLOBAL_ID; k < count; k += GLOBAL_SIZE)
        force[k] = 0;
}
