// Embed: a lookup table. Each bottom value is an integer index in
// [0, input_dim) stored as Dtype; top = bottom.shape + (num_output), row
// W[index] (+ b if bias_term, default true).
// Blobs: W (input_dim, num_output) filled by weight_filler, b (num_output) by
// bias_filler (both default constant 0). The indices get no gradient.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class EmbedLayer : public Layer<Dtype> {
 public:
  explicit EmbedLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Embed"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return false; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  // The table row for bottom value v; throws unless v is an integer in range.
  int Index(Dtype v) const;

  int num_output_ = 0, input_dim_ = 0;
  bool bias_term_ = true;
};

}  // namespace deepspark
