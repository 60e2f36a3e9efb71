// AbsVal: y = |x|, dy/dx = sign(x). Any shape; NOT in-place (backward needs x).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class AbsValLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(AbsValLayer, "AbsVal");
  DS_DECLARE_GPU_PATHS;  // absval_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
};

}  // namespace deepspark
