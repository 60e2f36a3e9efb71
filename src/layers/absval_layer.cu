// AbsVal's GPU path: absval_layer.cc's element-wise formulas as kernels
// (y = |x|; dx = sign(x) dy).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/absval_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void AbsValForward(int n, const Dtype* x, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = fabs(x[i]);
  }
}

template <typename Dtype>
__global__ void AbsValBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y,
                               Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = ((Dtype(0) < x[i]) - (x[i] < Dtype(0))) * top_diff[i];
  }
}

}  // namespace

template <typename Dtype>
void AbsValLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  AbsValForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, bottom[0]->gpu_data(),
                                                            top[0]->mutable_gpu_data());
  RequireKernelLaunched("AbsVal forward kernel");
}

template <typename Dtype>
void AbsValLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  AbsValBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), nullptr, bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("AbsVal backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(AbsValLayer);

}  // namespace deepspark
