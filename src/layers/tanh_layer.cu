// TanH's GPU path: tanh_layer.cc's formulas as kernels.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/tanh_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void TanHForward(int n, const Dtype* x, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = tanh(x[i]);
  }
}

template <typename Dtype>
__global__ void TanHBackward(int n, const Dtype* top_diff, const Dtype* y, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = top_diff[i] * (Dtype(1) - y[i] * y[i]);
  }
}

}  // namespace

template <typename Dtype>
void TanHLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int n = bottom[0]->count();
  if (n == 0) return;
  TanHForward<Dtype>
      <<<CudaBlocks(n), kCudaThreads>>>(n, bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  RequireKernelLaunched("tanh forward kernel");
}

template <typename Dtype>
void TanHLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int n = bottom[0]->count();
  if (!propagate_down[0] || n == 0) return;
  TanHBackward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, top[0]->gpu_diff(), top[0]->gpu_data(),
                                                       bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("tanh backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(TanHLayer);

}  // namespace deepspark
