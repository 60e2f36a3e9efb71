// Threshold: y = (x > threshold) ? 1 : 0 (strict). Any shape. Not
// differentiable: asking for a bottom gradient throws.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ThresholdLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(ThresholdLayer, "Threshold");
  DS_DECLARE_GPU_PATHS;  // threshold_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;

 private:
  Dtype threshold_ = 0;
};

}  // namespace deepspark
