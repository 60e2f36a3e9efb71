// Sigmoid: y = 1 / (1 + exp(-x)), computed as 0.5 * tanh(0.5 x) + 0.5 as Caffe
// does (no overflow for large |x|). Any shape; in-place allowed (backward uses y).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class SigmoidLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(SigmoidLayer, "Sigmoid");
  DS_DECLARE_GPU_PATHS;  // sigmoid_layer.cu
};

}  // namespace deepspark
