// MVN: mean-variance normalization of each item's channel (or of each item
// when across_channels): y = (x - mean) / (sqrt(var) + eps), eps default 1e-9
// added to the standard deviation as in Caffe; with normalize_variance false
// only the mean is subtracted. Statistics over count / (N*C) values (or
// count / N). Top: the bottom's shape.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class MVNLayer : public Layer<Dtype> {
 public:
  explicit MVNLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "MVN"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

  int num_ = 0, dim_ = 0;
  std::vector<Dtype> denom_;  // sqrt(var) + eps per row
  Blob<Dtype> y_;             // output kept for backward (in place safe)
};

}  // namespace deepspark
