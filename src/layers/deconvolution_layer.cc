#include "deepspark/layers/deconvolution_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void DeconvolutionLayer<Dtype>::compute_output_shape() {
  this->output_shape_.clear();
  for (int i = 0; i < this->num_spatial_axes_; ++i) {
    const int input_dim = this->input_shape(i + 1);
    const int extent = this->dilation_[i] * (this->kernel_shape_[i] - 1) + 1;
    const int out = this->stride_[i] * (input_dim - 1) + extent - 2 * this->pad_[i];
    REQUIRE(out > 0) << "deconvolution output size " << out << " on spatial axis " << i
                     << " is not positive (pad too large for the input)";
    this->output_shape_.push_back(out);
  }
}

INSTANTIATE_CLASS(DeconvolutionLayer);
REGISTER_LAYER_CLASS(Deconvolution);

}  // namespace deepspark
