// RNN (type "RNN"): a simple recurrent layer, as Caffe's RNNLayer
// (recurrent_layer.hpp has the bottoms, tops and state). Each step t:
//   h_t = tanh(W_hh * (cont_t * h_{t-1}) + W_xh * x_t + b_h
//              [+ W_xh_static * x_static])
//   o_t = tanh(W_ho * h_t + b_o)
// The output is o_1..o_T (T x N x num_output). Parameters: W_xh (D x I),
// b_h (D), [W_xh_static (D x S)], W_hh (D x D), W_ho (D x D), b_o (D).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <string>
#include <vector>

#include "deepspark/layers/recurrent_layer.hpp"

namespace deepspark {

template <typename Dtype>
class RNNLayer : public RecurrentLayer<Dtype> {
 public:
  explicit RNNLayer(const caffe::LayerParameter& param) : RecurrentLayer<Dtype>(param) {}
  const char* type() const override { return "RNN"; }

 protected:
  void FillUnrolledNet(caffe::NetParameter* net_param) const override;
  std::vector<std::string> RecurrentInputBlobNames() const override { return {"h_0"}; }
  std::vector<std::string> RecurrentOutputBlobNames() const override;
  std::vector<std::string> OutputBlobNames() const override { return {"o"}; }
  int NumRecurrentBlobs() const override { return 1; }  // h
};

}  // namespace deepspark
