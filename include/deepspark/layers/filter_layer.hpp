// Filter: keeps the items (along axis 0) whose selector is nonzero.
// Bottoms: K data blobs with the same shape(0) = N, then the selector (N) or
// (N, 1, ...). Tops: K blobs, each (number selected, ...). At SetUp the
// selector may not be filled yet, so the first shape keeps all N items.
// Backward scatters the top diffs back and zeroes the dropped items' diffs;
// the selector gets no gradient.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class FilterLayer : public Layer<Dtype> {
 public:
  explicit FilterLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Filter"; }
  int MinBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override {
    return bottom_index + 1 < num_bottoms_;
  }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

  bool first_reshape_ = true;
  int num_bottoms_ = 0;
  std::vector<int> indices_;  // selected items
};

}  // namespace deepspark
