/* OpenCL C 1.2 prelude of the steermd kernels: fp64 and 64-bit atomics. */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable

#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define DEVICE
#define INLINE inline
#define GLOBAL_ID ((int) get_global_id(0))
#define GLOBAL_SIZE ((int) get_global_size(0))
#define LOCAL_ID ((int) get_local_id(0))
#define SYNC_THREADS barrier(CLK_LOCAL_MEM_FENCE)
typedef long int64;
typedef uint uint32;
typedef ulong uint64;
/* Integer addition commutes, so the result is independent of launch order. */
#define ATOMIC_ADD(p, v) atom_add((volatile GLOBAL int64*) (p), (int64) (v))
