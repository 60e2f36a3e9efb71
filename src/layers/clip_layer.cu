// Clip's GPU path: clip_layer.cc's element-wise formulas as kernels
// (y = min(max(x, min), max); the gradient passes where min <= x <= max).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/clip_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ClipForward(int n, const Dtype* x, Dtype* y, Dtype lo, Dtype hi) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = max(lo, min(x[i], hi));
  }
}

template <typename Dtype>
__global__ void ClipBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y, Dtype lo,
                             Dtype hi, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = top_diff[i] * (x[i] >= lo && x[i] <= hi);
  }
}

}  // namespace

template <typename Dtype>
void ClipLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  ClipForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bottom[0]->gpu_data(), top[0]->mutable_gpu_data(),
      Dtype(this->layer_param_.clip_param().min()), Dtype(this->layer_param_.clip_param().max()));
  RequireKernelLaunched("Clip forward kernel");
}

template <typename Dtype>
void ClipLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  ClipBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), nullptr,
      Dtype(this->layer_param_.clip_param().min()), Dtype(this->layer_param_.clip_param().max()),
      bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Clip backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(ClipLayer);

}  // namespace deepspark
