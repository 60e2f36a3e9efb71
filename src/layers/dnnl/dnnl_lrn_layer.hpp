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

class DnnlLRNLayer : public LRNLayer<float>, public DnnlLayer {
 public:
  explicit DnnlLRNLayer(const caffe::LayerParameter& param);
  ~DnnlLRNLayer() override;
  void Reshape(const std::vector<Blob<float>*>& bottom,
               const std::vector<Blob<float>*>& top) override;
  bool uses_dnnl() const override { return use_dnnl_; }

 protected:
  void Forward_cpu(const std::vector<Blob<float>*>& bottom,
                   const std::vector<Blob<float>*>& top) override;
  void Backward_cpu(const std::vector<Blob<float>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<float>*>& bottom) override;

 private:
  struct Primitives;
  bool Build(const std::vector<Blob<float>*>& bottom);

  bool use_dnnl_ = false;
  std::vector<int> built_shape_;
  std::unique_ptr<Primitives> prims_;
};

}  // namespace deepspark
