// TanH: y = tanh(x). Any shape; in-place allowed (backward uses y).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class TanHLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(TanHLayer, "TanH");
  DS_DECLARE_GPU_PATHS;  // tanh_layer.cu
};

}  // namespace deepspark
