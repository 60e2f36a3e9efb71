// PReLU's GPU path: prelu_layer.cc's formulas as kernels, with the slope
// gradient's per-channel sums through channel_sums.cuh (in double, so they
// agree with the CPU's sequential sums to rounding). Channel c of value i is
// (i / dim) % channels, all one channel when channel_shared.
#include "../core/cuda/channel_sums.cuh"
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/prelu_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void PReLUForward(int n, int channels, int dim, int div_factor, const Dtype* x,
                             const Dtype* slope, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int c = (i / dim) % channels / div_factor;
    const Dtype xi = x[i];  // in place: y may be x
    y[i] = max(xi, Dtype(0)) + slope[c] * min(xi, Dtype(0));
  }
}

template <typename Dtype>
__global__ void PReLUNegativePart(int n, const Dtype* x, Dtype* out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    out[i] = x[i] * (x[i] <= 0);
  }
}

template <typename Dtype>
__global__ void PReLUBackward(int n, int channels, int dim, int div_factor, const Dtype* top_diff,
                              const Dtype* x, const Dtype* slope, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int c = (i / dim) % channels / div_factor;
    bottom_diff[i] = top_diff[i] * ((x[i] > 0) + slope[c] * (x[i] <= 0));
  }
}

}  // namespace

template <typename Dtype>
void PReLULayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const int dim = bottom[0]->count(2);
  const int channels = bottom[0]->channels();
  const Dtype* x = bottom[0]->gpu_data();
  // In place, keep x for the backward pass.
  if (bottom[0] == top[0]) caffe_gpu_copy(count, x, bottom_memory_.mutable_gpu_data());
  PReLUForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, channels, dim, channel_shared_ ? channels : 1, x, this->blobs_[0]->gpu_data(),
      top[0]->mutable_gpu_data());
  RequireKernelLaunched("PReLU forward kernel");
}

template <typename Dtype>
void PReLULayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const int dim = bottom[0]->count(2);
  const int channels = bottom[0]->channels();
  const Dtype* x = bottom[0] == top[0] ? bottom_memory_.gpu_data() : bottom[0]->gpu_data();
  const Dtype* top_diff = top[0]->gpu_diff();
  // The slope gradient first: in place, the bottom diff overwrites top diff.
  if (this->param_propagate_down(0)) {
    negative_part_.ReshapeLike(*bottom[0]);
    PReLUNegativePart<Dtype>
        <<<CudaBlocks(count), kCudaThreads>>>(count, x, negative_part_.mutable_gpu_data());
    RequireKernelLaunched("PReLU slope-gradient kernel");
    // (N, C, dim) per channel, or everything as one channel when shared.
    const int outer = channel_shared_ ? 1 : bottom[0]->shape(0);
    const int sum_channels = channel_shared_ ? 1 : channels;
    const int inner = channel_shared_ ? count : dim;
    ChannelSumsGpu<Dtype>(outer, sum_channels, inner, top_diff, negative_part_.gpu_data(), 1.0,
                          true, this->blobs_[0]->mutable_gpu_diff());
  }
  if (propagate_down[0]) {
    PReLUBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, channels, dim, channel_shared_ ? channels : 1, top_diff, x,
        this->blobs_[0]->gpu_data(), bottom[0]->mutable_gpu_diff());
    RequireKernelLaunched("PReLU backward kernel");
  }
}

DS_INSTANTIATE_GPU_PATHS(PReLULayer);

}  // namespace deepspark
