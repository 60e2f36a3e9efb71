// SigmoidCrossEntropyLoss's GPU path: the internal Sigmoid runs its own GPU
// code; one thread per value computes the CPU loop's term (the overflow-free
// form) or 0 for an ignored target, and marks whether it counts. The loss
// is the dot product of the terms with the marks (any sign), the valid
// count the marks' sum, both read back to the host, where the loss is.
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/sigmoid_cross_entropy_loss_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void SigmoidCrossEntropyForward(int n, const Dtype* x, const Dtype* target,
                                           bool has_ignore_label, int ignore_label, Dtype* loss,
                                           Dtype* counted) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    if (has_ignore_label && static_cast<int>(target[i]) == ignore_label) {
      loss[i] = 0;
      counted[i] = 0;
      continue;
    }
    const Dtype pos = x[i] >= 0;
    loss[i] = -(x[i] * (target[i] - pos) - log(Dtype(1) + exp(x[i] - 2 * x[i] * pos)));
    counted[i] = 1;
  }
}

// dL/dx = p - t, 0 for an ignored target.
template <typename Dtype>
__global__ void SigmoidCrossEntropyBackward(int n, const Dtype* p, const Dtype* target,
                                            bool has_ignore_label, int ignore_label,
                                            Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const bool ignored = has_ignore_label && static_cast<int>(target[i]) == ignore_label;
    bottom_diff[i] = ignored ? Dtype(0) : p[i] - target[i];
  }
}

}  // namespace

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                                      const std::vector<Blob<Dtype>*>& top) {
  sigmoid_layer_->Forward(sigmoid_bottom_vec_, sigmoid_top_vec_);  // GPU mode: its GPU path
  const int count = bottom[0]->count();
  Dtype loss = 0;
  int valid_count = 0;
  if (count > 0) {
    value_loss_.ReshapeLike(*bottom[0]);
    SigmoidCrossEntropyForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, bottom[0]->gpu_data(), bottom[1]->gpu_data(), has_ignore_label_, ignore_label_,
        value_loss_.mutable_gpu_data(), value_loss_.mutable_gpu_diff());
    RequireKernelLaunched("SigmoidCrossEntropyLoss forward kernel");
    loss = caffe_gpu_dot(count, value_loss_.gpu_data(), value_loss_.gpu_diff());
    // 0/1 values: the sum is exact up to 2^24 values even in float.
    valid_count = static_cast<int>(caffe_gpu_asum(count, value_loss_.gpu_diff()) + Dtype(0.5));
  }
  normalizer_ =
      LossLayer<Dtype>::GetNormalizer(normalization_, outer_num_, inner_num_, valid_count);
  top[0]->mutable_cpu_data()[0] = loss / normalizer_;
}

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                                       const std::vector<bool>& propagate_down,
                                                       const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1])
      << "SigmoidCrossEntropyLoss layer cannot backpropagate to label inputs";
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  Dtype* bottom_diff = bottom[0]->mutable_gpu_diff();
  SigmoidCrossEntropyBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, sigmoid_output_.gpu_data(), bottom[1]->gpu_data(), has_ignore_label_, ignore_label_,
      bottom_diff);
  RequireKernelLaunched("SigmoidCrossEntropyLoss backward kernel");
  caffe_gpu_scal(count, top[0]->cpu_diff()[0] / normalizer_, bottom_diff);
}

DS_INSTANTIATE_GPU_PATHS(SigmoidCrossEntropyLossLayer);

}  // namespace deepspark
