// LRN through oneDNN (engine DNNL, float) on Caffe-layout (NCHW) blobs.
// ACROSS_CHANNELS: y = x (k + alpha/n sum x^2)^-beta, oneDNN's
// lrn_across_channels with the same k, alpha, beta and n. WITHIN_CHANNEL:
// Caffe divides by n^2 and ignores k (it uses 1); oneDNN's
// lrn_within_channel divides by n^2 too, so it gets k = 1.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/lrn_layer.hpp"
#include "dnnl_layer.hpp"

namespace deepspark {

class DnnlLRNLayer : public DnnlEngineLayer<LRNLayer<float>> {
 public:
  explicit DnnlLRNLayer(const caffe::LayerParameter& param);
  ~DnnlLRNLayer() override;

 protected:
  bool Build(const std::vector<Blob<float>*>& bottom,
             const std::vector<Blob<float>*>& top) override;
  void ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) override;
  void BackwardDnnl(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) override;

 private:
  struct Primitives;
  std::unique_ptr<Primitives> prims_;
};

}  // namespace deepspark
