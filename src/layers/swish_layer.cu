// Swish's GPU path: swish_layer.cc's formulas as kernels: s = sigmoid(beta
// x) (as 0.5 tanh(0.5 beta x) + 0.5, like the CPU) kept for the backward, y
// = x s; dx = dy (beta y + s (1 - beta y)).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/swish_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void SwishForward(int n, const Dtype* x, Dtype beta, Dtype* s, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const Dtype xi = x[i];  // in place: y may be x
    s[i] = Dtype(0.5) * tanh(Dtype(0.5) * (beta * xi)) + Dtype(0.5);
    y[i] = xi * s[i];
  }
}

template <typename Dtype>
__global__ void SwishBackward(int n, const Dtype* top_diff, const Dtype* y, const Dtype* s,
                              Dtype beta, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const Dtype swish_x = y[i];
    bottom_diff[i] = top_diff[i] * (beta * swish_x + s[i] * (Dtype(1) - beta * swish_x));
  }
}

}  // namespace

template <typename Dtype>
void SwishLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const Dtype beta = this->layer_param_.swish_param().beta();
  SwishForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, bottom[0]->gpu_data(), beta,
                                                           sigmoid_output_.mutable_gpu_data(),
                                                           top[0]->mutable_gpu_data());
  RequireKernelLaunched("Swish forward kernel");
}

template <typename Dtype>
void SwishLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  const Dtype beta = this->layer_param_.swish_param().beta();
  SwishBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), top[0]->gpu_data(), sigmoid_output_.gpu_data(), beta,
      bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Swish backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(SwishLayer);

}  // namespace deepspark
