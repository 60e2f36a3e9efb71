// Local response normalization (type "LRN") of a 4-D bottom (N, C, H, W);
// the top has the bottom's shape. n = local_size (must be odd).
// ACROSS_CHANNELS: scale = k + (alpha/n) * sum of x^2 over the n channels
//   centred on c (zero-padded), y = x * scale^-beta.
// WITHIN_CHANNEL: scale = 1 + alpha * (sum of x^2 over the n x n spatial
//   window centred on (h, w), clipped to the image) / n^2, y = x * scale^-beta.
//   This is Caffe's AVE pooling of x^2 (pad (n-1)/2, stride 1, which always
//   divides by n^2); k is ignored, as in Caffe.
//
// Images (ACROSS) or planes (WITHIN) are split over the engine's threads.
// Thread safety: one thread per instance (it caches scale between Forward
// and Backward).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class LRNLayer : public Layer<Dtype> {
 public:
  explicit LRNLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "LRN"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // lrn_layer.cu (ACROSS_CHANNELS; WITHIN_CHANNEL runs the CPU code)

 protected:
  // Writes into out[h*W+w] the sum of in[] over the size x size window
  // centred on (h, w), clipped to the H x W plane.
  void WindowSum(const Dtype* in, Dtype* out) const;

  int size_ = 5;
  int pre_pad_ = 2;
  Dtype alpha_ = 1, beta_ = Dtype(0.75), k_ = 1;
  bool across_channels_ = true;
  int num_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  Blob<Dtype> scale_;      // the bottom's shape: the scale of every element
  Blob<Dtype> scale_pow_;  // scale^-beta, kept for Backward
  // Work buffers, buffer_size_ (padded_) and H*W (accum_) values per thread.
  std::vector<Dtype> padded_;
  std::vector<Dtype> accum_;
  size_t buffer_size_ = 0;
};

}  // namespace deepspark
