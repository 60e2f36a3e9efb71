// Threshold's GPU path: y = 1 where x > threshold, else 0, as a kernel. It
// has no backward (threshold_layer.cc says why), on either path.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/threshold_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ThresholdForward(int n, const Dtype* x, Dtype threshold, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = x[i] > threshold ? Dtype(1) : Dtype(0);
  }
}

}  // namespace

template <typename Dtype>
void ThresholdLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  ThresholdForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bottom[0]->gpu_data(), threshold_, top[0]->mutable_gpu_data());
  RequireKernelLaunched("Threshold forward kernel");
}

template <typename Dtype>
void ThresholdLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  this->Backward_cpu(top, propagate_down, bottom);  // refuses, as on the CPU
}

DS_INSTANTIATE_GPU_PATHS(ThresholdLayer);

}  // namespace deepspark
