// ContrastiveLoss: for pairs (a_n, b_n) with similarity y_n in {0, 1} and
// d_n = ||a_n - b_n||, loss = sum [y d^2 + (1 - y) max(margin - d, 0)^2] / 2N;
// with legacy_version the dissimilar term is max(margin - d^2, 0). Bottoms:
// a (N, C, 1, 1), b (N, C, 1, 1), y (N, 1, 1, 1). No gradient to y.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/loss_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ContrastiveLossLayer : public LossLayer<Dtype> {
 public:
  explicit ContrastiveLossLayer(const caffe::LayerParameter& param) : LossLayer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "ContrastiveLoss"; }
  int ExactNumBottomBlobs() const override { return 3; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 2; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  Blob<Dtype> diff_;     // a - b
  Blob<Dtype> dist_sq_;  // ||a_n - b_n||^2, (N)
};

}  // namespace deepspark
