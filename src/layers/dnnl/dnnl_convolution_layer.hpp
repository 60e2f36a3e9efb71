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
 public:
  explicit DnnlConvolutionLayer(const caffe::LayerParameter& param);
  ~DnnlConvolutionLayer() override;

 protected:
  bool Build(const std::vector<Blob<float>*>& bottom,
             const std::vector<Blob<float>*>& top) override;
  void ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) override;
  void BackwardDnnl(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) override;

 private:
  struct Primitives;
  // The backward primitives, made on the first Backward for these shapes.
  void BuildBackward();

  std::unique_ptr<Primitives> prims_;
};

}  // namespace deepspark
