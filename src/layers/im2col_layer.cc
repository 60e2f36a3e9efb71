#include "deepspark/layers/im2col_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/base_conv_layer.hpp"
#include "deepspark/layers/im2col.hpp"

namespace deepspark {

template <typename Dtype>
void Im2colLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const caffe::ConvolutionParameter& p = this->layer_param_.convolution_param();
  force_nd_im2col_ = p.force_nd_im2col();
  channel_axis_ = CheckedAxis(p.axis(), bottom[0]->num_axes(), "convolution_param.axis");
  num_spatial_axes_ = bottom[0]->num_axes() - channel_axis_ - 1;
  const ConvGeometry g = ConvGeometry::Parse(p, num_spatial_axes_);
  kernel_ = g.kernel;
  stride_ = g.stride;
  pad_ = g.pad;
  dilation_ = g.dilation;
}

template <typename Dtype>
void Im2colLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() == channel_axis_ + 1 + num_spatial_axes_)
      << "bottom num_axes may not change";
  num_ = bottom[0]->count(0, channel_axis_);
  im_shape_.assign(bottom[0]->shape().begin() + channel_axis_, bottom[0]->shape().end());
  int kernel_count = 1;
  for (int k : kernel_) kernel_count *= k;
  col_shape_.assign(1, im_shape_[0] * kernel_count);
  for (int i = 0; i < num_spatial_axes_; ++i) {
    const int extent = dilation_[i] * (kernel_[i] - 1) + 1;
    REQUIRE(im_shape_[i + 1] + 2 * pad_[i] >= extent)
        << "the kernel extent " << extent << " exceeds the padded input size on spatial axis " << i;
    col_shape_.push_back((im_shape_[i + 1] + 2 * pad_[i] - extent) / stride_[i] + 1);
  }
  std::vector<int> top_shape(bottom[0]->shape().begin(),
                             bottom[0]->shape().begin() + channel_axis_);
  top_shape.insert(top_shape.end(), col_shape_.begin(), col_shape_.end());
  top[0]->Reshape(top_shape);
  bottom_dim_ = bottom[0]->count(channel_axis_);
  top_dim_ = top[0]->count(channel_axis_);
}

template <typename Dtype>
void Im2colLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->cpu_data();
  Dtype* top_data = top[0]->mutable_cpu_data();
  for (int n = 0; n < num_; ++n) {
    if (!force_nd_im2col_ && num_spatial_axes_ == 2) {
      im2col_cpu(bottom_data + n * bottom_dim_, im_shape_[0], im_shape_[1], im_shape_[2],
                 kernel_[0], kernel_[1], pad_[0], pad_[1], stride_[0], stride_[1], dilation_[0],
                 dilation_[1], top_data + n * top_dim_);
    } else {
      im2col_nd_cpu(bottom_data + n * bottom_dim_, num_spatial_axes_, im_shape_.data(),
                    col_shape_.data(), kernel_.data(), pad_.data(), stride_.data(),
                    dilation_.data(), top_data + n * top_dim_);
    }
  }
}

template <typename Dtype>
void Im2colLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  for (int n = 0; n < num_; ++n) {
    if (!force_nd_im2col_ && num_spatial_axes_ == 2) {
      col2im_cpu(top_diff + n * top_dim_, im_shape_[0], im_shape_[1], im_shape_[2], kernel_[0],
                 kernel_[1], pad_[0], pad_[1], stride_[0], stride_[1], dilation_[0], dilation_[1],
                 bottom_diff + n * bottom_dim_);
    } else {
      col2im_nd_cpu(top_diff + n * top_dim_, num_spatial_axes_, im_shape_.data(), col_shape_.data(),
                    kernel_.data(), pad_.data(), stride_.data(), dilation_.data(),
                    bottom_diff + n * bottom_dim_);
    }
  }
}

INSTANTIATE_CLASS(Im2colLayer);
REGISTER_LAYER_CLASS(Im2col);

}  // namespace deepspark
