// Softmax's GPU path: one thread per (outer item, inner position), running
// the CPU path's steps over the channels in the same order (max, exp, sum,
// divide; backward: dot, subtract, multiply).
#include <cfloat>

#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/softmax_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void SoftmaxForward(int n, const Dtype* x, int channels, int inner, Dtype* y) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int k = index % inner;
    const size_t base = static_cast<size_t>(index / inner) * channels * inner + k;
    Dtype top = x[base];
    for (int c = 1; c < channels; ++c) top = max(top, x[base + static_cast<size_t>(c) * inner]);
    Dtype sum = 0;
    for (int c = 0; c < channels; ++c) {
      const size_t i = base + static_cast<size_t>(c) * inner;
      y[i] = exp(x[i] - top);
      sum += y[i];
    }
    for (int c = 0; c < channels; ++c) y[base + static_cast<size_t>(c) * inner] /= sum;
  }
}

template <typename Dtype>
__global__ void SoftmaxBackward(int n, const Dtype* top_diff, const Dtype* y, int channels,
                                int inner, Dtype* bottom_diff) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int k = index % inner;
    const size_t base = static_cast<size_t>(index / inner) * channels * inner + k;
    Dtype dot = 0;
    for (int c = 0; c < channels; ++c) {
      const size_t i = base + static_cast<size_t>(c) * inner;
      dot += top_diff[i] * y[i];
    }
    for (int c = 0; c < channels; ++c) {
      const size_t i = base + static_cast<size_t>(c) * inner;
      bottom_diff[i] = (top_diff[i] - dot) * y[i];
    }
  }
}

}  // namespace

template <typename Dtype>
void SoftmaxLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const int n = outer_num_ * inner_num_;
  if (n == 0) return;
  // In place (bottom == top) works: each thread reads its values before it
  // writes them.
  SoftmaxForward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, bottom[0]->gpu_data(), channels_,
                                                         inner_num_, top[0]->mutable_gpu_data());
  RequireKernelLaunched("softmax forward kernel");
}

template <typename Dtype>
void SoftmaxLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  const int n = outer_num_ * inner_num_;
  if (!propagate_down[0] || n == 0) return;
  SoftmaxBackward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, top[0]->gpu_diff(), top[0]->gpu_data(),
                                                          channels_, inner_num_,
                                                          bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("softmax backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(SoftmaxLayer);

}  // namespace deepspark
