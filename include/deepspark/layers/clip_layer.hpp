// Clip: y = min(max(x, min), max); dy/dx = 1 inside [min, max], else 0.
// min and max are required, min < max. Any shape; backward needs x.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ClipLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(ClipLayer, "Clip");
  DS_DECLARE_GPU_PATHS;  // clip_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
};

}  // namespace deepspark
