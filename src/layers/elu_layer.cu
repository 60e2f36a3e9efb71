// ELU's GPU path: elu_layer.cc's element-wise formulas as kernels
// (max(x, 0) + alpha (exp(min(x, 0)) - 1); for x <= 0, dy/dx = y + alpha).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/elu_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ELUForward(int n, const Dtype* x, Dtype* y, Dtype alpha) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = max(x[i], Dtype(0)) + alpha * (exp(min(x[i], Dtype(0))) - Dtype(1));
  }
}

template <typename Dtype>
__global__ void ELUBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y,
                            Dtype alpha, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = top_diff[i] * ((x[i] > 0) + (alpha + y[i]) * (x[i] <= 0));
  }
}

}  // namespace

template <typename Dtype>
void ELULayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  ELUForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bottom[0]->gpu_data(), top[0]->mutable_gpu_data(),
      Dtype(this->layer_param_.elu_param().alpha()));
  RequireKernelLaunched("ELU forward kernel");
}

template <typename Dtype>
void ELULayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  ELUBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), top[0]->gpu_data(),
      Dtype(this->layer_param_.elu_param().alpha()), bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("ELU backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(ELULayer);

}  // namespace deepspark
