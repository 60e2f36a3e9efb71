// Convolution through oneDNN (engine DNNL, float): forward, backward data and
// backward weights/bias as oneDNN convolution primitives on the blobs'
// Caffe-layout data. Same parameters, blobs and results (within float
// rounding) as ConvolutionLayer. 2-D only; other shapes, shapes oneDNN
// rejects and channel counts its blocked kernels would pad heavily run the
// inherited im2col path with oneDNN's sgemm for the GEMMs.
//
// Gradients accumulate into the blobs' diffs as Caffe's do (oneDNN writes
// into a buffer that is then added).
//
// Thread safety: one thread per instance; the primitives use the engine's
// OpenMP threads (deepspark/parallel.hpp).
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/convolution_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlConvolutionLayer : public DnnlEngineLayer<ConvolutionLayer<float>> {
  DEEPSPARK_DNNL_LAYER_BOILERPLATE(DnnlConvolutionLayer);

  // The backward primitives, made on the first Backward for these shapes.
  void BuildBackward();
};

}  // namespace deepspark
