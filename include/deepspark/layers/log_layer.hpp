// Log: y = log_base(shift + scale * x); base -1 (the default) means e.
// Any shape; backward needs x, so not for in-place use.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class LogLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(LogLayer, "Log");
  DS_DECLARE_GPU_PATHS;  // log_layer.cu

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;

 private:
  Dtype base_scale_ = 1, input_scale_ = 1, input_shift_ = 0, backward_num_scale_ = 1;
};

}  // namespace deepspark
