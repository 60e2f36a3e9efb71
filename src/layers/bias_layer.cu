// Bias's GPU path: bias_layer.cc's sum as a kernel, and the bias gradient
// (sums over outer and inner per bias element) as per-channel sums
// (channel_sums.cuh).
#include "../core/cuda/channel_sums.cuh"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/bias_layer.hpp"

namespace deepspark {
namespace {

// y = x + bias[d] over (outer, dim, inner); y may alias x.
template <typename Dtype>
__global__ void BiasForward(int n, int dim, int inner, const Dtype* x, const Dtype* bias,
                            Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = x[i] + bias[(i / inner) % dim];
  }
}

}  // namespace

template <typename Dtype>
void BiasLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const Dtype* bias = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->gpu_data();
  BiasForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bias_dim_, inner_dim_, bottom[0]->gpu_data(), bias, top[0]->mutable_gpu_data());
  RequireKernelLaunched("Bias forward kernel");
}

template <typename Dtype>
void BiasLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  // An empty top has no memory to ask for; its sums are 0 (a bottom bias's
  // diff is still zeroed, as on the CPU), and the sums read no values.
  const Dtype* dy = count > 0 ? top[0]->gpu_diff() : nullptr;
  if (propagate_down[0] && bottom[0] != top[0] && count > 0) {
    caffe_gpu_copy(count, dy, bottom[0]->mutable_gpu_diff());
  }
  const bool bias_param = bottom.size() == 1;
  if ((bias_param && this->param_propagate_down(0)) || (!bias_param && propagate_down[1])) {
    Blob<Dtype>* bias = bias_param ? this->blobs_[0].get() : bottom[1];
    // A learned blob accumulates its gradient; a bottom's diff is overwritten.
    ChannelSumsGpu<Dtype>(outer_dim_, bias_dim_, inner_dim_, dy, nullptr, 1.0, bias_param,
                          bias->mutable_gpu_diff());
  }
}

DS_INSTANTIATE_GPU_PATHS(BiasLayer);

}  // namespace deepspark
