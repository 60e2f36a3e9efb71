// HingeLoss (one-vs-all): with d[n, k] = max(0, 1 - delta * x[n, k]), delta
// = +1 for k == label_n and -1 otherwise, loss = sum d / N (norm L1, the
// default) or sum d^2 / N (L2). Bottom 0: scores (N, C...); bottom 1: N
// integer-valued labels. No gradient to the labels.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/loss_layer.hpp"

namespace deepspark {

template <typename Dtype>
class HingeLossLayer : public LossLayer<Dtype> {
 public:
  explicit HingeLossLayer(const caffe::LayerParameter& param) : LossLayer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "HingeLoss"; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  Blob<Dtype> diff_;  // d with the sign of delta, from the last forward
};

}  // namespace deepspark
