// EuclideanLoss's GPU path: the difference a - b by a kernel, its squared
// norm by cuBLAS's dot (read back: the loss is a host scalar), and each
// bottom's gradient as the CPU's axpby, element by element.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/euclidean_loss_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void SubtractKernel(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = a[i] - b[i];
  }
}

// y = alpha * x + beta * y (caffe_cpu_axpby's formula; beta 0 here, kept so
// that a NaN already in y spreads as it does on the CPU).
template <typename Dtype>
__global__ void AxpbyKernel(int n, Dtype alpha, const Dtype* x, Dtype beta, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = alpha * x[i] + beta * y[i];
  }
}

}  // namespace

template <typename Dtype>
void EuclideanLossLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                            const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  Dtype dot = 0;
  if (count > 0) {
    SubtractKernel<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, bottom[0]->gpu_data(), bottom[1]->gpu_data(), diff_.mutable_gpu_data());
    RequireKernelLaunched("EuclideanLoss difference kernel");
    dot = caffe_gpu_dot(count, diff_.gpu_data(), diff_.gpu_data());
  }
  // A batch of 0: loss 0, not 0 / 0.
  const int num = bottom[0]->shape(0);
  top[0]->mutable_cpu_data()[0] = num == 0 ? Dtype(0) : dot / num / Dtype(2);
}

template <typename Dtype>
void EuclideanLossLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                             const std::vector<bool>& propagate_down,
                                             const std::vector<Blob<Dtype>*>& bottom) {
  for (int i = 0; i < 2; ++i) {
    const int count = bottom[i]->count();
    if (!propagate_down[i] || count == 0) continue;
    const Dtype sign = (i == 0) ? 1 : -1;
    const Dtype alpha = sign * top[0]->cpu_diff()[0] / bottom[i]->shape(0);
    AxpbyKernel<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, alpha, diff_.gpu_data(), Dtype(0), bottom[i]->mutable_gpu_diff());
    RequireKernelLaunched("EuclideanLoss backward kernel");
  }
}

DS_INSTANTIATE_GPU_PATHS(EuclideanLossLayer);

}  // namespace deepspark
