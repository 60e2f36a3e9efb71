// Dropout: in TRAIN, y = x * mask / (1 - ratio) with mask ~ Bernoulli(1 - ratio)
// drawn from the calling thread's generator (inverted dropout, so TEST needs
// no rescaling); in TEST, y = x. Any shape; in-place allowed (the mask is
// kept for the backward pass).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/neuron_layer.hpp"

namespace deepspark {

template <typename Dtype>
class DropoutLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(DropoutLayer, "Dropout");

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;

 private:
  std::vector<unsigned int> mask_;  // 1 = kept, from the last TRAIN forward
  Dtype threshold_ = 0.5;           // dropout_ratio
  Dtype scale_ = 2;                 // 1 / (1 - dropout_ratio)
};

}  // namespace deepspark
