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
 public:
  explicit DnnlSoftmaxLayer(const caffe::LayerParameter& param);
  ~DnnlSoftmaxLayer() override;

 protected:
  bool Build(const std::vector<Blob<float>*>& bottom,
             const std::vector<Blob<float>*>& top) override;
  void ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) override;
  void BackwardDnnl(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) override;

 private:
  struct Primitives;
  std::unique_ptr<Primitives> prims_;
};

}  // namespace deepspark
