// EuclideanLoss: loss = sum((a - b)^2) / (2 N), N = a.shape(0). Bottoms a and
// b with the same first dimension and the same count per item. Gradients
// flow to both bottoms (either may be forced).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layers/loss_layer.hpp"

namespace deepspark {

template <typename Dtype>
class EuclideanLossLayer : public LossLayer<Dtype> {
 public:
  explicit EuclideanLossLayer(const caffe::LayerParameter& param) : LossLayer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "EuclideanLoss"; }
  // Unlike most losses, either input may be a learned prediction.
  bool AllowForceBackward(int bottom_index) const override { return true; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // euclidean_loss_layer.cu

 private:
  Blob<Dtype> diff_;  // a - b from the last forward
};

}  // namespace deepspark
