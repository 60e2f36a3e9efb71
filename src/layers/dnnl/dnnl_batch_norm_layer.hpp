// BatchNorm with oneDNN normalizing (engine DNNL, float). The statistics are
// Caffe's code's (summed in double, see BatchNormLayer), so they are as
// accurate on this path as on the other; oneDNN then normalizes with them
// (use_global_stats) and computes the backward pass from them (the full
// batch gradient in training, dy / sqrt(var + eps) under global stats). It
// runs in nChw16c, where oneDNN has JIT kernels (on NCHW its loop is no
// faster than Caffe's code): the input is reordered once per forward and
// kept for backward. Blobs that are not 4-D run Caffe's code.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/batch_norm_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlBatchNormLayer : public DnnlEngineLayer<BatchNormLayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlBatchNormLayer);

  std::vector<float> dnnl_var_;  // var_ before eps: oneDNN adds eps itself
};

}  // namespace deepspark
