// Per-channel reductions shared by the GPU layers of broadcast shape
// (BatchNorm, Scale, Bias), for .cu files only. A blob of shape
// (outer, channels, inner) is reduced over outer and inner to one value per
// channel, one block of kCudaThreads threads per channel, in double as the
// CPU paths' statistics are (batch_norm_layer.cc says why).
#pragma once

#include "kernel_launch.hpp"

namespace deepspark {

// The sum of every thread's `value` over the block, returned to every
// thread. Needs blockDim.x == kCudaThreads (a power of 2) and `shared` of
// kCudaThreads doubles; every thread of the block must call it.
__device__ inline double BlockSum(double value, double* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  const double sum = shared[0];
  __syncthreads();  // the caller may reuse `shared` at once
  return sum;
}

// The offset of the j-th value (j in [0, outer * inner)) of channel c.
__device__ inline size_t ChannelOffset(long long j, int c, int channels, int inner) {
  const long long o = j / inner;
  const long long i = j - o * inner;
  return (static_cast<size_t>(o) * channels + c) * inner + i;
}

// On device pointers: out[c] = (sum over o, i of a[o, c, i], times b[o, c, i]
// when b is not null; each product in Dtype, as the CPU paths do) / divisor,
// added to out[c] when `accumulate`, else written. With outer * inner == 0
// the sums are 0 (a and b are not read and may be null); with channels == 0
// nothing is launched.
template <typename Dtype>
void ChannelSumsGpu(int outer, int channels, int inner, const Dtype* a, const Dtype* b,
                    double divisor, bool accumulate, Dtype* out);

}  // namespace deepspark
