#include "deepspark/layers/lstm_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "unrolled_net_builder.hpp"

namespace deepspark {

template <typename Dtype>
std::vector<std::string> LSTMLayer<Dtype>::RecurrentInputBlobNames() const {
  return {"h_0", "c_0"};
}

template <typename Dtype>
std::vector<std::string> LSTMLayer<Dtype>::RecurrentOutputBlobNames() const {
  return {"h_" + std::to_string(this->T_), "c_T"};
}

// The layers, their names and their order are Caffe's: the order fixes that
// of the parameters (W_xc, b_c, [W_xc_static], W_hc) in a .caffemodel.
template <typename Dtype>
void LSTMLayer<Dtype>::FillUnrolledNet(caffe::NetParameter* net) const {
  using namespace unrolled;
  const int num_output = this->NumOutput();
  const int gates = 4 * num_output;
  const caffe::RecurrentParameter& recurrent = this->layer_param_.recurrent_param();

  // c_0 before h_0, as Caffe's Input (both 1 x N x D).
  const StepSlicers slicers = AddInputStage(net, {"c_0", "h_0"}, this->StateShape(), "W_xc", "b_c",
                                            gates, this->static_input_, recurrent);
  std::vector<std::string> hidden;
  for (int t = 1; t <= this->T_; ++t) {
    const std::string tm1 = std::to_string(t - 1), ts = std::to_string(t);
    slicers.cont->add_top("cont_" + ts);
    slicers.x->add_top("W_xc_x_" + ts);
    AddContGate(net, "h_" + tm1, "cont_" + ts, "h_conted_" + tm1);
    AddInnerProduct(net, "transform_" + ts, "h_conted_" + tm1, "W_hc_h_" + tm1, gates, 2, recurrent,
                    {"W_hc"});
    std::vector<std::string> sum = {"W_hc_h_" + tm1, "W_xc_x_" + ts};
    if (this->static_input_) sum.push_back("W_xc_x_static");
    AddSum(net, "gate_input_" + ts, sum, "gate_input_" + ts);
    AddLayer(net, "LSTMUnit", "unit_" + ts, {"c_" + tm1, "gate_input_" + ts, "cont_" + ts},
             {"c_" + ts, "h_" + ts});
    hidden.push_back("h_" + ts);
  }
  AddLayer(net, "Split", "c_T_copy", {"c_" + std::to_string(this->T_)}, {"c_T"});
  AddTimeConcat(net, "h_concat", hidden, "h");
}

INSTANTIATE_CLASS(LSTMLayer);
REGISTER_LAYER_CLASS(LSTM);

}  // namespace deepspark
