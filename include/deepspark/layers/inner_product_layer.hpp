// Fully connected layer (type "InnerProduct"). The bottom is flattened at
// `axis` (default 1) into M x K (M = count(0, axis), K = count(axis));
// top (bottom.shape[0:axis], N) = bottom * W^T + b with W (N, K), or
// bottom * W with W (K, N) when transpose: true; b (N) if bias_term.
//
// Thread safety: one thread per instance.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class InnerProductLayer : public Layer<Dtype> {
 public:
  explicit InnerProductLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "InnerProduct"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // inner_product_layer.cu

  // The engine (deepspark/engine.hpp) for its GEMMs: oneDNN's sgemm (DNNL,
  // float) or BLAS (Caffe's path); the layer creator sets it.
 public:
  void set_dnnl_gemm(bool on) { dnnl_gemm_ = on; }

 private:
  bool dnnl_gemm_ = false;
  int M_ = 0, K_ = 0, N_ = 0;
  int axis_ = 1;
  bool bias_term_ = true;
  bool transpose_ = false;
  Blob<Dtype> bias_multiplier_;  // M ones
};

}  // namespace deepspark
