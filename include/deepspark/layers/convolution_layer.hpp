// Convolution (type "Convolution"): top = W * bottom + b per group, computed
// with im2col + GEMM like Caffe. Bottom (N, C, spatial...) with C at `axis`;
// top (N, num_output, out...), out = (in + 2*pad - (dilation*(k-1)+1)) / stride + 1
// (integer floor). W (num_output, C/group, kernel...), b (num_output).
// Several bottoms are convolved independently with the same weights.
//
// Thread safety: one thread per instance (see BaseConvolutionLayer).
#pragma once

#include "deepspark/layers/base_conv_layer.hpp"

namespace deepspark {

template <typename Dtype>
class ConvolutionLayer : public BaseConvolutionLayer<Dtype> {
 public:
  explicit ConvolutionLayer(const caffe::LayerParameter& param)
      : BaseConvolutionLayer<Dtype>(param) {}
  const char* type() const override { return "Convolution"; }

 protected:
  bool reverse_dimensions() override { return false; }
  void compute_output_shape() override;
};

}  // namespace deepspark
