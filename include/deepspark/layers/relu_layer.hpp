// ReLU: y = max(x, 0) + negative_slope * min(x, 0). Any shape; in-place allowed
// (the backward pass only needs the sign of x, which y keeps for slope >= 0).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ReLULayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(ReLULayer, "ReLU");
  DS_DECLARE_GPU_PATHS;  // relu_layer.cu
};

}  // namespace deepspark
