// BNLL (binomial normal log likelihood): y = log(1 + exp(x)), computed as
// x + log(1 + exp(-x)) for x > 0 so that it does not overflow. Any shape;
// backward needs x, so in-place use gives wrong gradients (as in Caffe).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class BNLLLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(BNLLLayer, "BNLL");
  DS_DECLARE_GPU_PATHS;  // bnll_layer.cu
};

}  // namespace deepspark
