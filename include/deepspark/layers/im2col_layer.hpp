// Im2col (type "Im2col"): exposes im2col as a layer. Bottom (N, C, in...)
// with C at convolution_param.axis; top (N, C * prod(kernel), out...), with
// Convolution's output size and the column layout of im2col.hpp. Uses
// convolution_param's kernel/pad/stride/dilation (num_output is ignored).
//
// Thread safety: one thread per instance.
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class Im2colLayer : public Layer<Dtype> {
 public:
  explicit Im2colLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Im2col"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  std::vector<int> kernel_, stride_, pad_, dilation_;
  std::vector<int> im_shape_;   // (C, in...)
  std::vector<int> col_shape_;  // (C * prod(kernel), out...)
  int channel_axis_ = 1;
  int num_spatial_axes_ = 0;
  int num_ = 0;
  int bottom_dim_ = 0, top_dim_ = 0;
  bool force_nd_im2col_ = false;
};

}  // namespace deepspark
