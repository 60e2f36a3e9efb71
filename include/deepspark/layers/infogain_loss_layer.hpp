// InfogainLoss: softmax of bottom 0 along infogain_loss_param.axis (default
// 1), then loss = -sum_{positions} sum_l H[label, l] log(max(p_l, 1e-20)) /
// normalizer. H (C x C) is bottom 2 if given, else read once from the
// infogain_loss_param.source binaryproto. Bottom 0: scores (outer, C,
// inner...); bottom 1: outer*inner integer-valued labels. Top 0: the loss;
// optional top 1: the probabilities. ignore_label and normalization (default
// VALID, deprecated `normalize` mapped as in SoftmaxWithLoss) as in
// SoftmaxWithLoss. Gradients flow to bottom 0 only.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layers/loss_layer.hpp"
#include "deepspark/layers/softmax_layer.hpp"

namespace deepspark {

template <typename Dtype>
class InfogainLossLayer : public LossLayer<Dtype> {
 public:
  explicit InfogainLossLayer(const caffe::LayerParameter& param) : LossLayer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "InfogainLoss"; }
  int ExactNumBottomBlobs() const override { return -1; }
  int MinBottomBlobs() const override { return 2; }
  int MaxBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return -1; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  const Blob<Dtype>& H(const std::vector<Blob<Dtype>*>& bottom) const {
    return bottom.size() > 2 ? *bottom[2] : infogain_;
  }

  std::unique_ptr<SoftmaxLayer<Dtype>> softmax_layer_;
  Blob<Dtype> prob_;
  std::vector<Blob<Dtype>*> softmax_bottom_vec_, softmax_top_vec_;
  Blob<Dtype> infogain_;  // H from `source` (when there is no bottom 2)
  std::vector<Dtype> sum_rows_H_;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  caffe::LossParameter::NormalizationMode normalization_ = caffe::LossParameter::VALID;
  int infogain_axis_ = 1, outer_num_ = 0, inner_num_ = 0, num_labels_ = 0;
  Dtype normalizer_ = 1;
};

}  // namespace deepspark
