// Exp's GPU path: exp_layer.cc's element-wise formulas as kernels
// (y = outer * exp(inner * x) in the CPU's order; dx = inner * y * dy).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/exp_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ExpForward(int n, const Dtype* x, Dtype* y, Dtype inner, Dtype outer) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype v = inner == Dtype(1) ? exp(x[i]) : exp(inner * x[i]);
    if (outer != Dtype(1)) v *= outer;
    y[i] = v;
  }
}

template <typename Dtype>
__global__ void ExpBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y,
                            Dtype inner, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype d = top_diff[i] * y[i];
    if (inner != Dtype(1)) d *= inner;
    bottom_diff[i] = d;
  }
}

}  // namespace

template <typename Dtype>
void ExpLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  ExpForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bottom[0]->gpu_data(), top[0]->mutable_gpu_data(), inner_scale_, outer_scale_);
  RequireKernelLaunched("Exp forward kernel");
}

template <typename Dtype>
void ExpLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  ExpBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, top[0]->gpu_diff(), nullptr,
                                                          top[0]->gpu_data(), inner_scale_,
                                                          bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Exp backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(ExpLayer);

}  // namespace deepspark
