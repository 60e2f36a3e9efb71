// ReLU's GPU path: relu_layer.cc's element-wise formulas as kernels.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/relu_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ReLUForward(int n, const Dtype* x, Dtype slope, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = x[i] > 0 ? x[i] : x[i] * slope;
  }
}

template <typename Dtype>
__global__ void ReLUBackward(int n, const Dtype* top_diff, const Dtype* x, Dtype slope,
                             Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = top_diff[i] * ((x[i] > 0) + slope * (x[i] <= 0));
  }
}

}  // namespace

template <typename Dtype>
void ReLULayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const Dtype slope = this->layer_param_.relu_param().negative_slope();
  ReLUForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, bottom[0]->gpu_data(), slope,
                                                          top[0]->mutable_gpu_data());
  RequireKernelLaunched("ReLU forward kernel");
}

template <typename Dtype>
void ReLULayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  const Dtype slope = this->layer_param_.relu_param().negative_slope();
  ReLUBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), slope, bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("ReLU backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(ReLULayer);

}  // namespace deepspark
