// What every CUDA kernel launch of the engine shares (.cu files only): the
// block size, a grid that covers n values (kernels loop grid-stride over
// what the capped grid does not cover), and the check after a launch.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>

#include "deepspark/common.hpp"

namespace deepspark {

constexpr int kCudaThreads = 256;

inline int CudaBlocks(int n) {
  return std::max(1, std::min((n + kCudaThreads - 1) / kCudaThreads, 65535));
}

// Throws deepspark::Error when the last launch failed (a bad configuration,
// a lost device); `what` names the kernel.
inline void RequireKernelLaunched(const char* what) {
  const cudaError_t status = cudaGetLastError();
  REQUIRE(status == cudaSuccess) << what << ": " << cudaGetErrorString(status);
}

}  // namespace deepspark
