// ELU: y = max(x, 0) + alpha * (exp(min(x, 0)) - 1). Any shape; in-place
// allowed for alpha > 0 (backward uses the sign of x and y).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ELULayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(ELULayer, "ELU");
  DS_DECLARE_GPU_PATHS;  // elu_layer.cu
};

}  // namespace deepspark
