// Builders of the layers that LSTM and RNN unroll into (recurrent_layer.hpp):
// each adds one LayerParameter to the unrolled net and returns it.
#pragma once

#include <string>
#include <vector>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {
namespace unrolled {

inline caffe::LayerParameter* AddLayer(caffe::NetParameter* net, const std::string& type,
                                       const std::string& name,
                                       const std::vector<std::string>& bottoms,
                                       const std::vector<std::string>& tops) {
  caffe::LayerParameter* layer = net->add_layer();
  layer->set_type(type);
  layer->set_name(name);
  for (const std::string& b : bottoms) layer->add_bottom(b);
  for (const std::string& t : tops) layer->add_top(t);
  return layer;
}

// An InnerProduct over `axis` with the recurrent layer's fillers; its
// weights (and bias, when param_names has two names) are shared by name.
inline caffe::LayerParameter* AddInnerProduct(caffe::NetParameter* net, const std::string& name,
                                              const std::string& bottom, const std::string& top,
                                              int num_output, int axis,
                                              const caffe::RecurrentParameter& recurrent,
                                              const std::vector<std::string>& param_names) {
  caffe::LayerParameter* layer = AddLayer(net, "InnerProduct", name, {bottom}, {top});
  caffe::InnerProductParameter* ip = layer->mutable_inner_product_param();
  ip->set_num_output(num_output);
  ip->set_axis(axis);
  ip->set_bias_term(param_names.size() == 2);
  *ip->mutable_weight_filler() = recurrent.weight_filler();
  if (ip->bias_term()) *ip->mutable_bias_filler() = recurrent.bias_filler();
  for (const std::string& p : param_names) layer->add_param()->set_name(p);
  return layer;
}

// h_conted = cont_t * h: the state, zeroed where a sequence starts.
inline void AddContGate(caffe::NetParameter* net, const std::string& h, const std::string& cont,
                        const std::string& top) {
  AddLayer(net, "Scale", top, {h, cont}, {top})->mutable_scale_param()->set_axis(0);
}

inline void AddSum(caffe::NetParameter* net, const std::string& name,
                   const std::vector<std::string>& bottoms, const std::string& top) {
  AddLayer(net, "Eltwise", name, bottoms, {top})
      ->mutable_eltwise_param()
      ->set_operation(caffe::EltwiseParameter::SUM);
}

// The layers before the steps, in Caffe's order: the initial state (an
// Input of 1 x N x num_output blobs named `state`), cont sliced into steps
// (cont_1..cont_T), x transformed for all steps at once (<weight>_x =
// <weight> * x + <bias>), x_static's transform as one timestep
// (<weight>_x_static = <weight>_static * x_static) when there is one, and
// the slicer of <weight>_x into steps. Returns the two slicers, whose tops
// the caller adds step by step (cont_t, <weight>_x_t).
struct StepSlicers {
  caffe::LayerParameter* cont;
  caffe::LayerParameter* x;
};
inline StepSlicers AddInputStage(caffe::NetParameter* net, const std::vector<std::string>& state,
                                 const caffe::BlobShape& state_shape, const std::string& weight,
                                 const std::string& bias, int num_output, bool with_static,
                                 const caffe::RecurrentParameter& recurrent) {
  caffe::LayerParameter* input = AddLayer(net, "Input", "state_input", {}, state);
  for (size_t i = 0; i < state.size(); ++i)
    *input->mutable_input_param()->add_shape() = state_shape;
  StepSlicers slicers;
  slicers.cont = AddLayer(net, "Slice", "cont_slice", {"cont"}, {});
  slicers.cont->mutable_slice_param()->set_axis(0);
  AddInnerProduct(net, "x_transform", "x", weight + "_x", num_output, 2, recurrent, {weight, bias})
      ->add_propagate_down(true);
  if (with_static) {
    const std::string top = weight + "_x_static";
    AddInnerProduct(net, top, "x_static", top + "_preshape", num_output, 1, recurrent,
                    {weight + "_static"})
        ->add_propagate_down(true);
    caffe::BlobShape* shape = AddLayer(net, "Reshape", top + "_reshape", {top + "_preshape"}, {top})
                                  ->mutable_reshape_param()
                                  ->mutable_shape();
    shape->add_dim(1);   // one timestep
    shape->add_dim(-1);  // N, whatever it is
    shape->add_dim(num_output);
  }
  slicers.x = AddLayer(net, "Slice", weight + "_x_slice", {weight + "_x"}, {});
  slicers.x->mutable_slice_param()->set_axis(0);
  return slicers;
}

// The outputs of all steps, concatenated along time.
inline void AddTimeConcat(caffe::NetParameter* net, const std::string& name,
                          const std::vector<std::string>& steps, const std::string& top) {
  AddLayer(net, "Concat", name, steps, {top})->mutable_concat_param()->set_axis(0);
}

}  // namespace unrolled
}  // namespace deepspark
