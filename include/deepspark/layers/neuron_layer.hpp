// NeuronLayer: base of the element-wise layers (ReLU, Sigmoid, Dropout, ...).
// One bottom, one top of the bottom's shape; top[i] depends on bottom[i]
// only. In-place use (top == bottom) is allowed unless a layer says
// otherwise.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class NeuronLayer : public Layer<Dtype> {
 public:
  explicit NeuronLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
};

// The constructor, type() and the Forward_cpu/Backward_cpu declarations that
// every neuron layer has; leaves the class in a protected section.
#define DEEPSPARK_NEURON_LAYER_BOILERPLATE(Name, TypeString)                                       \
 public:                                                                                           \
  explicit Name(const caffe::LayerParameter& param) : NeuronLayer<Dtype>(param) {}                 \
  const char* type() const override { return TypeString; }                                         \
                                                                                                   \
 protected:                                                                                        \
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom, const std::vector<Blob<Dtype>*>& top)  \
      override;                                                                                    \
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down, \
                    const std::vector<Blob<Dtype>*>& bottom) override

}  // namespace deepspark
