// LSTMUnit: one step of an LSTM cell, as Caffe's LSTMUnitLayer (the step
// its LSTM layer unrolls). Bottoms: c_prev (1 x N x D), the gate inputs x
// (1 x N x 4D: input, forget, output and candidate pre-activations, in that
// order) and cont (1 x N: 0 starts a new sequence, so the forget gate is 0).
// Tops: c (1 x N x D) and h (1 x N x D):
//   i = sigmoid(x_i), f = cont * sigmoid(x_f), o = sigmoid(x_o), g = tanh(x_g)
//   c = f * c_prev + i * g,  h = o * tanh(c).
// No gradient flows to cont.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class LSTMUnitLayer : public Layer<Dtype> {
 public:
  explicit LSTMUnitLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "LSTMUnit"; }
  int ExactNumBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return 2; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 2; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  int hidden_dim_ = 0;  // D
  // What the forward computed, for the backward: the activated gates i, f
  // (times cont), o, g (1 x N x 4D, laid out as the gate inputs) and tanh(c)
  // (1 x N x D).
  Blob<Dtype> gates_, tanh_c_;
};

}  // namespace deepspark
