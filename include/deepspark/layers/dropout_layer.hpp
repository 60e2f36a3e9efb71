// Dropout: in TRAIN, y = x * mask / (1 - ratio) with mask ~ Bernoulli(1 - ratio)
// drawn from the calling thread's generator (inverted dropout, so TEST needs
// no rescaling); in TEST, y = x. Any shape; in-place allowed (the mask is
// kept for the backward pass). The GPU path draws its mask on the device from
// a seed taken from that generator (dropout_layer.cu): a different mask from
// the CPU's for the same seed, as Caffe's cuRAND masks differ from its CPU ones.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/neuron_layer.hpp"
#include "deepspark/syncedmem.hpp"

namespace deepspark {

template <typename Dtype>
class DropoutLayer : public NeuronLayer<Dtype> {
  DEEPSPARK_NEURON_LAYER_BOILERPLATE(DropoutLayer, "Dropout");

 public:
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;

 protected:
  DS_DECLARE_GPU_PATHS;  // dropout_layer.cu

 private:
  // 1 = kept, 0 = dropped (count() unsigned ints) from the last TRAIN
  // forward, on the side it ran on (host or device); regrown, never shrunk,
  // by Reshape.
  std::unique_ptr<SyncedMemory> mask_;
  Dtype threshold_ = 0.5;  // dropout_ratio
  Dtype scale_ = 2;        // 1 / (1 - dropout_ratio)
};

}  // namespace deepspark
