// SoftmaxWithLoss's GPU path: the internal softmax runs its own GPU code,
// then one thread per (outer item, inner position) does what the CPU loop
// does for that position. The sums over positions (the loss, the count of
// valid positions) are cuBLAS asums read back to the host, as the loss is a
// host scalar. Summation order differs from the CPU's sequential loop, so
// the loss agrees to rounding, not bit for bit.
#include <cfloat>

#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/softmax_loss_layer.hpp"

namespace deepspark {
namespace {

// prob: (outer, channels, inner); label: (outer * inner). Writes, per
// position, loss[index] = -log(max(p[label], FLT_MIN)) and counted[index] =
// 1, or 0 and 0 for an ignored label. An out-of-range label writes 0 and 0
// and records itself in bad[0..1] (any one of several such labels).
template <typename Dtype>
__global__ void SoftmaxLossForward(int n, const Dtype* prob, const Dtype* label, int channels,
                                   int inner, bool has_ignore_label, int ignore_label, Dtype* loss,
                                   Dtype* counted, Dtype* bad) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int label_value = static_cast<int>(label[index]);
    loss[index] = 0;
    counted[index] = 0;
    if (has_ignore_label && label_value == ignore_label) continue;
    if (label_value < 0 || label_value >= channels) {
      bad[0] = 1;
      bad[1] = static_cast<Dtype>(label_value);
      continue;
    }
    const int i = index / inner, j = index % inner;
    const Dtype p = prob[(static_cast<size_t>(i) * channels + label_value) * inner + j];
    // std::max(p, FLT_MIN) of the CPU path, NaN kept (CUDA's max would drop it).
    loss[index] = -log(p < Dtype(FLT_MIN) ? Dtype(FLT_MIN) : p);
    counted[index] = 1;
  }
}

// bottom_diff holds prob (outer, channels, inner); per position: subtract 1
// at the label, or zero every channel where the label is ignored. Positions
// own disjoint entries, so threads never write the same value.
template <typename Dtype>
__global__ void SoftmaxLossBackward(int n, const Dtype* label, int channels, int inner,
                                    bool has_ignore_label, int ignore_label, Dtype* bottom_diff) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int label_value = static_cast<int>(label[index]);
    const int i = index / inner, j = index % inner;
    const size_t base = static_cast<size_t>(i) * channels * inner + j;
    if (has_ignore_label && label_value == ignore_label) {
      for (int c = 0; c < channels; ++c) bottom_diff[base + static_cast<size_t>(c) * inner] = 0;
    } else if (label_value >= 0 && label_value < channels) {  // forward has checked the range
      bottom_diff[base + static_cast<size_t>(label_value) * inner] -= 1;
    }
  }
}

}  // namespace

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                              const std::vector<Blob<Dtype>*>& top) {
  softmax_layer_->Forward(softmax_bottom_vec_, softmax_top_vec_);  // GPU mode: its GPU path
  const int channels = bottom[0]->shape(softmax_axis_);
  const int n = outer_num_ * inner_num_;
  // A batch of 0 (n == 0): loss 0 and a normalizer of 1, as on the CPU.
  Dtype loss = 0;
  int count = 0;
  if (n > 0) {
    position_loss_.Reshape(std::vector<int>{n});
    bad_label_.Reshape(std::vector<int>{2});
    Dtype* bad = bad_label_.mutable_gpu_data();
    caffe_gpu_set(2, Dtype(0), bad);
    SoftmaxLossForward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
        n, prob_.gpu_data(), bottom[1]->gpu_data(), channels, inner_num_, has_ignore_label_,
        ignore_label_, position_loss_.mutable_gpu_data(), position_loss_.mutable_gpu_diff(), bad);
    RequireKernelLaunched("SoftmaxWithLoss forward kernel");
    const Dtype* bad_host = bad_label_.cpu_data();
    REQUIRE(bad_host[0] == 0) << "SoftmaxWithLoss: label " << static_cast<int>(bad_host[1])
                              << " out of range [0, " << channels << ")";
    // Every term is >= 0 (p <= 1), so the sum of absolute values is the sum.
    loss = caffe_gpu_asum(n, position_loss_.gpu_data());
    // The count matters only for VALID; without an ignore label every
    // (in-range) position counts.
    count = n;
    if (has_ignore_label_ && normalization_ == caffe::LossParameter::VALID) {
      // 0/1 values: the sum is exact up to 2^24 positions even in float.
      count = static_cast<int>(caffe_gpu_asum(n, position_loss_.gpu_diff()) + Dtype(0.5));
    }
  }
  normalizer_ = LossLayer<Dtype>::GetNormalizer(normalization_, outer_num_, inner_num_, count);
  top[0]->mutable_cpu_data()[0] = loss / normalizer_;
  if (top.size() == 2) top[1]->ShareData(prob_);
}

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                               const std::vector<bool>& propagate_down,
                                               const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1]) << "SoftmaxWithLoss layer cannot backpropagate to label inputs";
  if (!propagate_down[0]) return;
  const int count = prob_.count();
  const int n = outer_num_ * inner_num_;
  if (count == 0 || n == 0) return;  // a batch of 0: nothing to write
  Dtype* bottom_diff = bottom[0]->mutable_gpu_diff();
  caffe_gpu_copy(count, prob_.gpu_data(), bottom_diff);
  // d(-log p_label)/dx_c = p_c - [c == label]
  SoftmaxLossBackward<Dtype>
      <<<CudaBlocks(n), kCudaThreads>>>(n, bottom[1]->gpu_data(), bottom[0]->shape(softmax_axis_),
                                        inner_num_, has_ignore_label_, ignore_label_, bottom_diff);
  RequireKernelLaunched("SoftmaxWithLoss backward kernel");
  const Dtype loss_weight = top[0]->cpu_diff()[0] / normalizer_;
  caffe_gpu_scal(count, loss_weight, bottom_diff);
}

DS_INSTANTIATE_GPU_PATHS(SoftmaxWithLossLayer);

}  // namespace deepspark
