/* HIP prelude of the steermd kernels (compiled ahead of time by
 * `hipcc --genco` in build.rs for each architecture of STEERMD_HIP_ARCHS). */
#include <hip/hip_runtime.h>
#define KERNEL extern "C" __global__
#define GLOBAL
#define LOCAL __shared__
#define DEVICE __device__
#define INLINE inline
#define GLOBAL_ID ((int) (blockIdx.x * blockDim.x + threadIdx.x))
#define GLOBAL_SIZE ((int) (blockDim.x * gridDim.x))
#define LOCAL_ID ((int) threadIdx.x)
#define SYNC_THREADS __syncthreads()
typedef long long int64;
typedef unsigned int uint32;
typedef unsigned long long uint64;
/* Two's-complement addition: the unsigned atomic adds signed values too.
 * Integer addition commutes, so the result is independent of launch order. */
#define ATOMIC_ADD(p, v) atomicAdd((unsigned long long*) (p), (unsigned long long) (v))
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
template <typename T> __device__ inline T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }
