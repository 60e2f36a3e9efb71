// Flatten: collapses axes [axis, end_axis] (defaults 1 and -1) into one.
// Bottom (d0, ..., dn) -> top (d0..d(axis-1), prod(d_axis..d_end), d(end+1)..dn).
// The top shares data and diff with the bottom, so forward and backward copy
// nothing. In-place use is an error.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class FlattenLayer : public Layer<Dtype> {
 public:
  explicit FlattenLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Flatten"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {}
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}
};

}  // namespace deepspark
