// Exp: y = base^(shift + scale * x); base -1 (the default) means e. Computed
// as outer_scale * exp(inner_scale * x) with inner_scale = scale * ln(base),
// outer_scale = base^shift. Any shape; in-place allowed (backward uses y).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ExpLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(ExpLayer, "Exp");
  DS_DECLARE_GPU_PATHS;  // exp_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;

 private:
  Dtype inner_scale_ = 1, outer_scale_ = 1;
};

}  // namespace deepspark
