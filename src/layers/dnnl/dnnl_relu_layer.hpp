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
 public:
  explicit DnnlReLULayer(const caffe::LayerParameter& param);
  ~DnnlReLULayer() override;

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
