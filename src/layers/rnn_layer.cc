#include "deepspark/layers/rnn_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "unrolled_net_builder.hpp"

namespace deepspark {

template <typename Dtype>
std::vector<std::string> RNNLayer<Dtype>::RecurrentOutputBlobNames() const {
  return {"h_" + std::to_string(this->T_)};
}

// The layers, their names and their order are Caffe's: the order fixes that
// of the parameters (W_xh, b_h, [W_xh_static], W_hh, W_ho, b_o) in a
// .caffemodel.
template <typename Dtype>
void RNNLayer<Dtype>::FillUnrolledNet(caffe::NetParameter* net) const {
  using namespace unrolled;
  const int num_output = this->NumOutput();
  const caffe::RecurrentParameter& recurrent = this->layer_param_.recurrent_param();

  const StepSlicers slicers = AddInputStage(net, {"h_0"}, this->StateShape(), "W_xh", "b_h",
                                            num_output, this->static_input_, recurrent);
  std::vector<std::string> outputs;
  for (int t = 1; t <= this->T_; ++t) {
    const std::string tm1 = std::to_string(t - 1), ts = std::to_string(t);
    slicers.cont->add_top("cont_" + ts);
    slicers.x->add_top("W_xh_x_" + ts);
    AddContGate(net, "h_" + tm1, "cont_" + ts, "h_conted_" + tm1);
    AddInnerProduct(net, "W_hh_h_" + tm1, "h_conted_" + tm1, "W_hh_h_" + tm1, num_output, 2,
                    recurrent, {"W_hh"});
    std::vector<std::string> sum = {"W_hh_h_" + tm1, "W_xh_x_" + ts};
    if (this->static_input_) sum.push_back("W_xh_x_static");
    AddSum(net, "h_input_sum_" + ts, sum, "h_neuron_input_" + ts);
    AddLayer(net, "TanH", "h_neuron_" + ts, {"h_neuron_input_" + ts}, {"h_" + ts});
    AddInnerProduct(net, "W_ho_h_" + ts, "h_" + ts, "W_ho_h_" + ts, num_output, 2, recurrent,
                    {"W_ho", "b_o"});
    AddLayer(net, "TanH", "o_neuron_" + ts, {"W_ho_h_" + ts}, {"o_" + ts});
    outputs.push_back("o_" + ts);
  }
  AddTimeConcat(net, "o_concat", outputs, "o");
}

INSTANTIATE_CLASS(RNNLayer);
REGISTER_LAYER_CLASS(RNN);

}  // namespace deepspark
