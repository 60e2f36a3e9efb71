// Deconvolution (type "Deconvolution"): the transpose of Convolution (its
// forward is convolution's backward-data pass). Bottom (N, C, in...), top
// (N, num_output, out...), out = stride*(in-1) + dilation*(k-1)+1 - 2*pad.
// W (C, num_output/group, kernel...), b (num_output).
//
// Thread safety: one thread per instance (see BaseConvolutionLayer).
#pragma once

#include "deepspark/layers/base_conv_layer.hpp"

namespace deepspark {

template <typename Dtype>
class DeconvolutionLayer : public BaseConvolutionLayer<Dtype> {
 public:
  explicit DeconvolutionLayer(const caffe::LayerParameter& param)
      : BaseConvolutionLayer<Dtype>(param) {}
  const char* type() const override { return "Deconvolution"; }

 protected:
  bool reverse_dimensions() override { return true; }
  void compute_output_shape() override;
};

}  // namespace deepspark
