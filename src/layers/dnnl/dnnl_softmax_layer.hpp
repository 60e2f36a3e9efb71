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

class DnnlSoftmaxLayer : public SoftmaxLayer<float>, public DnnlLayer {
 public:
  explicit DnnlSoftmaxLayer(const caffe::LayerParameter& param);
  ~DnnlSoftmaxLayer() override;
  void Reshape(const std::vector<Blob<float>*>& bottom,
               const std::vector<Blob<float>*>& top) override;
  bool uses_dnnl() const override { return prims_ != nullptr; }

 protected:
  void Forward_cpu(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) override;
  void Backward_cpu(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) override;

 private:
  struct Primitives;
  std::vector<int> built_dims_;
  std::unique_ptr<Primitives> prims_;
};

}  // namespace deepspark
