// LSTM (type "LSTM"): a long short-term memory layer, as Caffe's LSTMLayer
// (recurrent_layer.hpp has the bottoms, tops and state). Each step t:
//   gate_input_t = W_hc * (cont_t * h_{t-1}) + W_xc * x_t + b_c
//                  [+ W_xc_static * x_static]
//   c_t, h_t = LSTMUnit(c_{t-1}, gate_input_t, cont_t)
// (gates in the order input, forget, output, candidate; lstm_unit_layer.hpp).
// The output is h_1..h_T (T x N x num_output). Parameters: W_xc (4D x I),
// b_c (4D), [W_xc_static (4D x S)], W_hc (4D x D).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <string>
#include <vector>

#include "deepspark/layers/recurrent_layer.hpp"

namespace deepspark {

template <typename Dtype>
class LSTMLayer : public RecurrentLayer<Dtype> {
 public:
  explicit LSTMLayer(const caffe::LayerParameter& param) : RecurrentLayer<Dtype>(param) {}
  const char* type() const override { return "LSTM"; }

 protected:
  void FillUnrolledNet(caffe::NetParameter* net_param) const override;
  std::vector<std::string> RecurrentInputBlobNames() const override;
  std::vector<std::string> RecurrentOutputBlobNames() const override;
  std::vector<std::string> OutputBlobNames() const override { return {"h"}; }
  int NumRecurrentBlobs() const override { return 2; }  // h and c
};

}  // namespace deepspark
