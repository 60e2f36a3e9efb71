// Pooling through oneDNN (engine DNNL, float), on Caffe-layout (NCHW) blobs.
// Caffe's output size (CEIL rounding by default) becomes oneDNN's right
// padding. MAX matches Caffe's windows exactly (padding cells never win);
// AVE matches Caffe's divisor where oneDNN has the same one: no padding
// (divide by the cells inside the image) or right padding no larger than
// pad (divide by the full kernel). Everything else (STOCHASTIC, a mask top,
// AVE windows that hang past pad, windows that fall wholly in the padding)
// runs the inherited Caffe code.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/pooling_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlPoolingLayer : public DnnlEngineLayer<PoolingLayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlPoolingLayer);
};

}  // namespace deepspark
