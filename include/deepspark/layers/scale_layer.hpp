// Scale: multiplies the bottom by a factor broadcast over it, optionally
// adding a bias of the factor's shape:
//   top[o, d, i] = bottom[o, d, i] * scale[d] (+ bias[d]),
// where the factor covers bottom axes [axis, axis + scale.num_axes).
// With 2 bottoms the factor is bottom[1]; with 1 bottom it is a learned blob of
// shape bottom.shape[axis : axis + num_axes] (num_axes -1: to the end; 0: a
// scalar), filled with scale_param.filler (default constant 1).
// Blobs: [scale (1 bottom only)], [bias if bias_term, filled with bias_filler,
// default constant 0]. In place allowed (the bottom is saved for backward).
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class ScaleLayer : public Layer<Dtype> {
 public:
  explicit ScaleLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Scale"; }
  int MinBottomBlobs() const override { return 1; }
  int MaxBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // scale_layer.cu

  int bias_param_id_ = -1;  // index of the bias in blobs_, or -1
  int outer_dim_ = 0, scale_dim_ = 0, inner_dim_ = 0;
  Blob<Dtype> bottom_copy_;  // the bottom's data when computing in place
};

}  // namespace deepspark
