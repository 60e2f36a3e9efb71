// MultinomialLogisticLoss: loss = -sum_n log(max(p[n, label_n], 1e-20)) / N.
// Bottom 0: probabilities (N, C, 1, 1) or (N, C); bottom 1: N integer-valued
// labels (N, 1, 1, 1) or (N). No gradient to the labels.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/loss_layer.hpp"

namespace deepspark {

template <typename Dtype>
class MultinomialLogisticLossLayer : public LossLayer<Dtype> {
 public:
  explicit MultinomialLogisticLossLayer(const caffe::LayerParameter& param)
      : LossLayer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "MultinomialLogisticLoss"; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
};

}  // namespace deepspark
