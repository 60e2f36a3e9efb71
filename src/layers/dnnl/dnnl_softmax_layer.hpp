// Softmax through oneDNN (engine DNNL, float) over the blob viewed as
// (outer, channels, inner) with the softmax axis in the middle, as Caffe's
// SoftmaxLayer computes it.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/softmax_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlSoftmaxLayer : public DnnlEngineLayer<SoftmaxLayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlSoftmaxLayer);
};

}  // namespace deepspark
