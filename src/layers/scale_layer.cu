// Scale's GPU path: scale_layer.cc's products as kernels, and its parameter
// gradients (sums over outer and inner per factor element) as per-channel
// sums (channel_sums.cuh).
#include "../core/cuda/channel_sums.cuh"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/scale_layer.hpp"

namespace deepspark {
namespace {

// y = x * scale[d] + (bias ? bias[d] : 0) over (outer, dim, inner); y may
// alias x.
template <typename Dtype>
__global__ void ScaleForward(int n, int dim, int inner, const Dtype* x, const Dtype* scale,
                             const Dtype* bias, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int d = (i / inner) % dim;
    const Dtype b = bias ? bias[d] : Dtype(0);
    y[i] = x[i] * scale[d] + b;
  }
}

// dx = dy * scale[d]; dx may alias dy.
template <typename Dtype>
__global__ void ScaleBackward(int n, int dim, int inner, const Dtype* dy, const Dtype* scale,
                              Dtype* dx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    dx[i] = dy[i] * scale[(i / inner) % dim];
  }
}

}  // namespace

template <typename Dtype>
void ScaleLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  if (bottom[0] == top[0]) {
    // Backward needs the input to compute the scale's gradient.
    caffe_gpu_copy(count, bottom[0]->gpu_data(), bottom_copy_.mutable_gpu_data());
  }
  const Dtype* scale = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->gpu_data();
  const Dtype* bias = bias_param_id_ >= 0 ? this->blobs_[bias_param_id_]->gpu_data() : nullptr;
  ScaleForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, scale_dim_, inner_dim_,
                                                           bottom[0]->gpu_data(), scale, bias,
                                                           top[0]->mutable_gpu_data());
  RequireKernelLaunched("Scale forward kernel");
}

template <typename Dtype>
void ScaleLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  // An empty top has no memory to ask for; its sums are 0 (a bottom scale's
  // diff is still zeroed, as on the CPU), and the sums read no values.
  const Dtype* dy = count > 0 ? top[0]->gpu_diff() : nullptr;
  // Parameter gradients first: in place, the bottom diff overwrites dy.
  if (bias_param_id_ >= 0 && this->param_propagate_down(bias_param_id_)) {
    ChannelSumsGpu<Dtype>(outer_dim_, scale_dim_, inner_dim_, dy, nullptr, 1.0, true,
                          this->blobs_[bias_param_id_]->mutable_gpu_diff());
  }
  const bool scale_param = bottom.size() == 1;
  Blob<Dtype>* scale = scale_param ? this->blobs_[0].get() : bottom[1];
  if ((scale_param && this->param_propagate_down(0)) || (!scale_param && propagate_down[1])) {
    const Blob<Dtype>* input = bottom[0] == top[0] ? &bottom_copy_ : bottom[0];
    const Dtype* x = count > 0 ? input->gpu_data() : nullptr;
    // A learned blob accumulates its gradient; a bottom's diff is overwritten.
    ChannelSumsGpu<Dtype>(outer_dim_, scale_dim_, inner_dim_, dy, x, 1.0, scale_param,
                          scale->mutable_gpu_diff());
  }
  if (propagate_down[0] && count > 0) {
    ScaleBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, scale_dim_, inner_dim_, dy, scale->gpu_data(), bottom[0]->mutable_gpu_diff());
    RequireKernelLaunched("Scale backward kernel");
  }
}

DS_INSTANTIATE_GPU_PATHS(ScaleLayer);

}  // namespace deepspark
