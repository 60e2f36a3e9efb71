// SoftmaxWithLoss: softmax of bottom 0 along softmax_param.axis (default 1),
// then loss = -sum log(max(p[label], FLT_MIN)) / normalizer over all outer x
// inner positions whose label is not loss_param.ignore_label. Bottom 0:
// scores (outer, C, inner...); bottom 1: integer-valued labels, outer*inner
// of them. Top 0: the loss; optional top 1: the probabilities (bottom 0's
// shape). Normalization: loss_param.normalization (default VALID), or the
// deprecated `normalize` (true = VALID, false = BATCH_SIZE) when
// normalization is unset. No gradient to the labels.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/loss_layer.hpp"
#include "deepspark/layers/softmax_layer.hpp"

namespace deepspark {

template <typename Dtype>
class SoftmaxWithLossLayer : public LossLayer<Dtype> {
 public:
  explicit SoftmaxWithLossLayer(const caffe::LayerParameter& param) : LossLayer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "SoftmaxWithLoss"; }
  int ExactNumTopBlobs() const override { return -1; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // softmax_loss_layer.cu

 private:
  std::unique_ptr<SoftmaxLayer<Dtype>> softmax_layer_;
  Blob<Dtype> prob_;
  std::vector<Blob<Dtype>*> softmax_bottom_vec_, softmax_top_vec_;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  caffe::LossParameter::NormalizationMode normalization_ = caffe::LossParameter::VALID;
  int softmax_axis_ = 1, outer_num_ = 0, inner_num_ = 0;
  Dtype normalizer_ = 1;  // from the last forward, reused by backward
  // GPU path only. position_loss_ (outer_num_ * inner_num_): data = each
  // position's loss term, diff = 1 where it counts (0 where ignored).
  // bad_label_ (2) = {1 if a label was out of range, that label}, read back
  // to report it as the CPU path does.
  Blob<Dtype> position_loss_, bad_label_;
};

}  // namespace deepspark
