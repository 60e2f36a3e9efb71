#include "deepspark/layers/convolution_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ConvolutionLayer<Dtype>::compute_output_shape() {
  this->output_shape_.clear();
  for (int i = 0; i < this->num_spatial_axes_; ++i) {
    const int input_dim = this->input_shape(i + 1);
    const int extent = this->dilation_[i] * (this->kernel_shape_[i] - 1) + 1;
    REQUIRE(input_dim + 2 * this->pad_[i] >= extent)
        << "the kernel extent " << extent << " exceeds the padded input size "
        << input_dim + 2 * this->pad_[i] << " on spatial axis " << i;
    this->output_shape_.push_back((input_dim + 2 * this->pad_[i] - extent) / this->stride_[i] + 1);
  }
}

INSTANTIATE_CLASS(ConvolutionLayer);


}  // namespace deepspark
