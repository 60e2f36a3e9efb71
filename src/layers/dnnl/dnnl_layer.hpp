// What the oneDNN-engine layers share (engine DNNL, float). Each one is
// Caffe's layer class with oneDNN primitives for the shapes oneDNN matches
// exactly; for any other shape the inherited Caffe code runs (the fallback).
//
// DnnlLayer says which path a layer's current shapes take (tests and tools
// ask it); DnnlEngineLayer<CaffeLayer> holds the choice: Reshape rebuilds the
// primitives when the bottom's shape changes (so a step builds nothing), and
// Forward/Backward run oneDNN or Caffe's code accordingly.
//
// Thread safety: one thread per layer instance, as every layer.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

class DnnlLayer {
 public:
  virtual ~DnnlLayer() = default;
  // True when the last Reshape chose a oneDNN primitive.
  virtual bool uses_dnnl() const = 0;
};

template <typename CaffeLayer>
class DnnlEngineLayer : public CaffeLayer, public DnnlLayer {
 public:
  explicit DnnlEngineLayer(const caffe::LayerParameter& param) : CaffeLayer(param) {}
  void Reshape(const std::vector<Blob<float>*>& bottom,
               const std::vector<Blob<float>*>& top) override {
    CaffeLayer::Reshape(bottom, top);
    if (bottom[0]->shape() == built_shape_) return;
    built_shape_ = bottom[0]->shape();
    use_dnnl_ = bottom[0]->count() > 0 && Build(bottom, top);
  }
  bool uses_dnnl() const override { return use_dnnl_; }

 protected:
  // Makes the primitives and buffers for the current shapes (after Caffe's
  // Reshape); false leaves them to Caffe's code.
  virtual bool Build(const std::vector<Blob<float>*>& bottom,
                     const std::vector<Blob<float>*>& top) = 0;
  virtual void ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                           const std::vector<Blob<float>*>& top) = 0;
  virtual void BackwardDnnl(const std::vector<Blob<float>*>& top,
                            const std::vector<bool>& propagate_down,
                            const std::vector<Blob<float>*>& bottom) = 0;

  void Forward_cpu(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) final {
    if (use_dnnl_) {
      ForwardDnnl(bottom, top);
    } else {
      CaffeLayer::Forward_cpu(bottom, top);
    }
  }
  void Backward_cpu(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) final {
    if (use_dnnl_) {
      BackwardDnnl(top, propagate_down, bottom);
    } else {
      CaffeLayer::Backward_cpu(top, propagate_down, bottom);
    }
  }

 private:
  bool use_dnnl_ = false;
  std::vector<int> built_shape_;  // the bottom shape the primitives were made for
};

// The constructor, destructor and DnnlEngineLayer overrides every oneDNN
// layer declares, and its primitives (a Primitives struct the .cc defines);
// leaves the class in a private section. As neuron_layer.hpp's boilerplate.
#define DEEPSPARK_DNNL_LAYER_BOILERPLATE(Name)                                                     \
 public:                                                                                           \
  explicit Name(const caffe::LayerParameter& param);                                               \
  ~Name() override;                                                                                \
                                                                                                   \
 protected:                                                                                        \
  bool Build(const std::vector<Blob<float>*>& bottom, const std::vector<Blob<float>*>& top)        \
      override;                                                                                    \
  void ForwardDnnl(const std::vector<Blob<float>*>& bottom, const std::vector<Blob<float>*>& top)  \
      override;                                                                                    \
  void BackwardDnnl(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down, \
                    const std::vector<Blob<float>*>& bottom) override;                             \
                                                                                                   \
 private:                                                                                          \
  struct Primitives;                                                                               \
  std::unique_ptr<Primitives> prims_

}  // namespace deepspark
