// Accuracy (a metric, not a loss): the fraction of positions whose label is
// among the top_k scores along `axis` (default 1). A position counts as
// correct when fewer than top_k *other* classes score >= the true class, so
// ties count against it. Positions labelled ignore_label are skipped; with
// none left the accuracy is 0. Bottom 0: scores (outer, C, inner...);
// bottom 1: outer*inner integer-valued labels. Top 0: scalar accuracy;
// optional top 1: per-class accuracy, shape (C) (0 for absent classes).
// No backward pass.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class AccuracyLayer : public Layer<Dtype> {
 public:
  explicit AccuracyLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Accuracy"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  int label_axis_ = 1, outer_num_ = 0, inner_num_ = 0;
  int top_k_ = 1;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  std::vector<int> nums_buffer_;  // per-class label counts, for top 1
};

}  // namespace deepspark
