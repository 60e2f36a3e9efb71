// Power: y = (shift + scale * x)^power. Any shape; backward needs x, so
// in-place use gives wrong gradients unless power == 1 (as in Caffe).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class PowerLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(PowerLayer, "Power");
  DS_DECLARE_GPU_PATHS;  // power_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;

 private:
  Dtype power_ = 1, scale_ = 1, shift_ = 0;
  Dtype diff_scale_ = 1;  // power * scale: the constant part of dy/dx
};

}  // namespace deepspark
