// ReLU through oneDNN's eltwise_relu (engine DNNL, float): y = x for x > 0,
// negative_slope * x otherwise, as Caffe's; the backward pass reads the
// bottom data as Caffe's does (in place that is y, whose sign is x's for a
// slope >= 0). Any shape: the blob is one flat vector.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/relu_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlReLULayer : public DnnlEngineLayer<ReLULayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlReLULayer);
};

}  // namespace deepspark
