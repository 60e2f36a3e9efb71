// Slice: cuts its bottom along one axis (default 1) into K tops.
// Cut positions come from `slice_point` (K-1 strictly increasing indices in
// (0, shape[axis])), or, without them, shape[axis] is split into K equal parts.
// With one top the top shares data and diff with the bottom.
// The deprecated `slice_dim` (a non-negative axis) is accepted instead of `axis`.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class SliceLayer : public Layer<Dtype> {
 public:
  explicit SliceLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Slice"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // slice_layer.cu

  int slice_axis_ = 1;
  int num_slices_ = 0;        // product of the axes before slice_axis_
  int slice_input_size_ = 0;  // product of the axes after slice_axis_
  std::vector<int> slice_point_;
};

}  // namespace deepspark
