// Concat: joins its bottoms along one axis (default 1, channels).
// Bottoms: K >= 1 blobs whose shapes agree on every axis except `axis`.
// Top: one blob, shape of bottom 0 with shape[axis] = sum of the bottoms'.
// With one bottom the top shares data and diff with it.
// The deprecated `concat_dim` (a non-negative axis) is accepted instead of `axis`.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class ConcatLayer : public Layer<Dtype> {
 public:
  explicit ConcatLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Concat"; }
  int MinBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // concat_layer.cu

  int concat_axis_ = 1;
  int num_concats_ = 0;        // product of the axes before concat_axis_
  int concat_input_size_ = 0;  // product of the axes after concat_axis_
};

}  // namespace deepspark
