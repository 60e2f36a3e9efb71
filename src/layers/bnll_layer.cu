// BNLL's GPU path: bnll_layer.cc's element-wise formulas as kernels
// (log(1 + exp(x)) in its overflow-free form; the backward's exp capped at 50 as the CPU's).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/bnll_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void BNLLForward(int n, const Dtype* x, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = x[i] > 0 ? x[i] + log(Dtype(1) + exp(-x[i])) : log(Dtype(1) + exp(x[i]));
  }
}

template <typename Dtype>
__global__ void BNLLBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y,
                             Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const Dtype e = exp(min(x[i], Dtype(50)));
    bottom_diff[i] = top_diff[i] * e / (e + Dtype(1));
  }
}

}  // namespace

template <typename Dtype>
void BNLLLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  BNLLForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, bottom[0]->gpu_data(),
                                                          top[0]->mutable_gpu_data());
  RequireKernelLaunched("BNLL forward kernel");
}

template <typename Dtype>
void BNLLLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  BNLLBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), nullptr, bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("BNLL backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(BNLLLayer);

}  // namespace deepspark
