// Copying one part's slab into or out of a whole along an axis, for the GPU
// paths of Concat and Slice (.cu files only). The part is (rows,
// part_chunk) values and the whole (rows, whole_chunk), where a chunk is the
// size along the axis times the values after it; the part sits at `offset`
// values into each of the whole's rows. One value per thread.
#pragma once

#include <cstddef>

#include "kernel_launch.hpp"

namespace deepspark {

template <typename Dtype>
__global__ void SlabCopyKernel(int n, bool into_whole, int part_chunk, int whole_chunk, int offset,
                               const Dtype* from, Dtype* to) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int row = index / part_chunk;
    const size_t whole_index =
        static_cast<size_t>(row) * whole_chunk + offset + (index - row * part_chunk);
    if (into_whole) {
      to[whole_index] = from[index];
    } else {
      to[index] = from[whole_index];
    }
  }
}

// n = rows * part_chunk values of the part: part -> whole (into_whole) or
// whole -> part. Nothing is launched for n == 0; `what` names the launch.
template <typename Dtype>
void CopySlabGpu(int n, bool into_whole, int part_chunk, int whole_chunk, int offset,
                 const Dtype* from, Dtype* to, const char* what) {
  if (n == 0) return;
  SlabCopyKernel<Dtype>
      <<<CudaBlocks(n), kCudaThreads>>>(n, into_whole, part_chunk, whole_chunk, offset, from, to);
  RequireKernelLaunched(what);
}

}  // namespace deepspark
