// Swish: y = x * sigmoid(beta * x), the sigmoid computed as Sigmoid does
// (0.5 tanh(0.5 z) + 0.5). dy/dx = beta * y + s * (1 - beta * y), s the
// sigmoid. Any shape; in-place allowed (backward uses y and s).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class SwishLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(SwishLayer, "Swish");
  DS_DECLARE_GPU_PATHS;  // swish_layer.cu

 public:
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;

 private:
  Blob<Dtype> sigmoid_output_;  // s = sigmoid(beta * x) from the last forward
};

}  // namespace deepspark
