// PReLU: y = max(x, 0) + a_c * min(x, 0) with a learned slope a_c per channel
// (axis 1), or one slope for all channels if channel_shared. Bottom: at least
// 2 axes (N, C, ...); top: the same shape. Parameter blob 0: the slopes,
// shape (C), or a 0-axis scalar if channel_shared; default filler constant
// 0.25. In-place allowed (the bottom is saved before it is overwritten).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class PReLULayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(PReLULayer, "PReLU");
  DS_DECLARE_GPU_PATHS;  // prelu_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;

 private:
  bool channel_shared_ = false;
  Blob<Dtype> bottom_memory_;  // a copy of x for in-place use
  // The GPU backward's x * (x <= 0), summed per channel into the slope
  // gradient (shape of the bottom; allocated on the first GPU backward).
  Blob<Dtype> negative_part_;
};

}  // namespace deepspark
