// SigmoidCrossEntropyLoss: p = sigmoid(x) (as the Sigmoid layer computes it),
// loss = -sum [t log p + (1 - t) log(1 - p)] / normalizer, evaluated in the
// overflow-free form -[x (t - (x >= 0)) - log(1 + exp(x - 2 x (x >= 0)))].
// Bottom 0: scores x, any shape; bottom 1: targets t in [0, 1], same count.
// Positions whose target equals loss_param.ignore_label are skipped.
// Normalization: loss_param.normalization if set, else the deprecated
// `normalize` (true = VALID, false = BATCH_SIZE), else BATCH_SIZE; the outer
// count is x.shape(0). No gradient to the targets.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/loss_layer.hpp"
#include "deepspark/layers/sigmoid_layer.hpp"

namespace deepspark {

template <typename Dtype>
class SigmoidCrossEntropyLossLayer : public LossLayer<Dtype> {
 public:
  explicit SigmoidCrossEntropyLossLayer(const caffe::LayerParameter& param)
      : LossLayer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "SigmoidCrossEntropyLoss"; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // sigmoid_cross_entropy_loss_layer.cu

 private:
  std::unique_ptr<SigmoidLayer<Dtype>> sigmoid_layer_;
  Blob<Dtype> sigmoid_output_;
  std::vector<Blob<Dtype>*> sigmoid_bottom_vec_, sigmoid_top_vec_;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  caffe::LossParameter::NormalizationMode normalization_ = caffe::LossParameter::BATCH_SIZE;
  int outer_num_ = 0, inner_num_ = 0;
  Dtype normalizer_ = 1;  // from the last forward, reused by backward
  // The GPU forward's per-value loss (data) and 1 where the value counts,
  // 0 where its target is ignored (diff).
  Blob<Dtype> value_loss_;
};

}  // namespace deepspark
