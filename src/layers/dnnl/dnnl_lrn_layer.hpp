// LRN through oneDNN (engine DNNL, float) on Caffe-layout (NCHW) blobs.
// ACROSS_CHANNELS: y = x (k + alpha/n sum x^2)^-beta, oneDNN's
// lrn_across_channels with the same k, alpha, beta and n. WITHIN_CHANNEL:
// Caffe divides by n^2 and ignores k (it uses 1); oneDNN's
// lrn_within_channel divides by n^2 too, so it gets k = 1.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/lrn_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlLRNLayer : public DnnlEngineLayer<LRNLayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlLRNLayer);
};

}  // namespace deepspark
