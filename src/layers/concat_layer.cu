// Concat's GPU path: one kernel launch per bottom copies that bottom's slab
// into its place in the top (forward) or back out of it (backward), one
// value per thread. With one bottom the top shares data and diff with it
// (Reshape), as on the CPU, and nothing moves.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/concat_layer.hpp"

namespace deepspark {
namespace {

// A bottom is (num_concats, bottom_chunk) values and the top (num_concats,
// top_chunk), where a chunk is the size of the concat axis times the values
// after it; the bottom sits at `offset` within each top row. Forward copies
// bottom -> top, backward top -> bottom; n = num_concats * bottom_chunk.
template <typename Dtype>
__global__ void ConcatCopyKernel(int n, bool forward, int bottom_chunk, int top_chunk, int offset,
                                 const Dtype* from, Dtype* to) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int row = index / bottom_chunk;
    const size_t top_index =
        static_cast<size_t>(row) * top_chunk + offset + (index - row * bottom_chunk);
    if (forward) {
      to[top_index] = from[index];
    } else {
      to[index] = from[top_index];
    }
  }
}

}  // namespace

template <typename Dtype>
void ConcatLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  if (bottom.size() == 1) return;
  const int top_chunk = top[0]->shape(concat_axis_) * concat_input_size_;
  if (top[0]->count() == 0) return;
  Dtype* top_data = top[0]->mutable_gpu_data();
  int offset = 0;  // along the concat axis
  for (auto* b : bottom) {
    const int bottom_chunk = b->shape(concat_axis_) * concat_input_size_;
    const int n = b->count();
    if (n > 0) {
      ConcatCopyKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
          n, true, bottom_chunk, top_chunk, offset * concat_input_size_, b->gpu_data(), top_data);
      RequireKernelLaunched("Concat forward kernel");
    }
    offset += b->shape(concat_axis_);
  }
}

template <typename Dtype>
void ConcatLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  if (bottom.size() == 1) return;
  const int top_chunk = top[0]->shape(concat_axis_) * concat_input_size_;
  if (top[0]->count() == 0) return;
  const Dtype* top_diff = top[0]->gpu_diff();
  int offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int bottom_chunk = bottom[i]->shape(concat_axis_) * concat_input_size_;
    const int n = bottom[i]->count();
    if (propagate_down[i] && n > 0) {
      ConcatCopyKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
          n, false, bottom_chunk, top_chunk, offset * concat_input_size_, top_diff,
          bottom[i]->mutable_gpu_diff());
      RequireKernelLaunched("Concat backward kernel");
    }
    offset += bottom[i]->shape(concat_axis_);
  }
}

DS_INSTANTIATE_GPU_PATHS(ConcatLayer);

}  // namespace deepspark
