// Reshape: gives the bottom's data a new shape without copying.
// reshape_param.shape lists the new dims for bottom axes [axis, axis+num_axes)
// (defaults: all axes); a dim of 0 copies the bottom's dim at that position,
// one dim of -1 is inferred so that the count is unchanged. The top shares
// data and diff with the bottom. In-place use is an error.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class ReshapeLayer : public Layer<Dtype> {
 public:
  explicit ReshapeLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Reshape"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {}
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

  std::vector<int> copy_axes_;    // positions in `shape` holding 0
  int inferred_axis_ = -1;        // position in `shape` holding -1, or -1
  long long constant_count_ = 1;  // product of the explicit (positive) dims
};

}  // namespace deepspark
