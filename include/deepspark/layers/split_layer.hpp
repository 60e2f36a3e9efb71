// Split: hands one bottom to several consumers. Every top has the bottom's
// shape and shares its data (a copy without copying); backward sums the
// tops' diffs into the bottom's diff. The Net inserts these automatically
// where one blob feeds several layers. In-place use is an error.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class SplitLayer : public Layer<Dtype> {
 public:
  explicit SplitLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Split"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // split_layer.cu
};

}  // namespace deepspark
