// ArgMax: the indices (as Dtype) of the top_k (default 1) largest values.
// Without `axis`: over the flattened count(1) values of each item; top
// (N, 1, top_k), or (N, 2, top_k) with out_max_val (indices then values).
// With `axis`: along that axis; top = bottom's shape with shape[axis] =
// top_k, holding the values instead of the indices if out_max_val.
// Equal values: the larger index ranks first (as Caffe's pair sort does).
// Not differentiable: backward is an error if a gradient is requested.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class ArgMaxLayer : public Layer<Dtype> {
 public:
  explicit ArgMaxLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "ArgMax"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return false; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

  bool has_axis_ = false;
  int axis_ = 0, top_k_ = 1;
};

}  // namespace deepspark
