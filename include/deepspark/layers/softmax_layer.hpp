// Softmax along `axis` (default 1): y = exp(x - max) / sum(exp(x - max)),
// the max taken over the axis so that exp cannot overflow. Bottom any shape
// with that axis; top the same shape. In-place allowed (backward uses y).
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class SoftmaxLayer : public Layer<Dtype> {
 public:
  explicit SoftmaxLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Softmax"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // softmax_layer.cu

 private:
  // Softmax over the channels of one outer item, in place; scale: inner_num_
  // values of scratch.
  void ForwardOne(Dtype* yi, Dtype* scale) const;

 protected:
  int outer_num_ = 0;  // count before the axis
  int inner_num_ = 0;  // count after the axis
  int channels_ = 0;   // size of the axis

 private:
  std::vector<Dtype> scale_;  // per-inner-position max / sum / dot scratch
};

}  // namespace deepspark
