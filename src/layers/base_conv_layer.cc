#include "deepspark/layers/base_conv_layer.hpp"

#include <algorithm>

#include "deepspark/filler.hpp"
#include "deepspark/layers/im2col.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

namespace {

// Reads one repeated per-axis field (kernel_size, stride, pad, dilation):
// empty -> default, one value -> all axes, else one per spatial axis.
std::vector<int> PerAxis(const google::protobuf::RepeatedField<uint32_t> &values, int num_axes,
                         int default_value, const char *name) {
  const int n = values.size();
  REQUIRE(n == 0 || n == 1 || n == num_axes)
      << name << " must be specified once, or once per spatial dimension (" << name << " specified "
      << n << " times; " << num_axes << " spatial dims)";
  std::vector<int> out(num_axes, default_value);
  for (int i = 0; i < num_axes && n > 0; ++i) out[i] = static_cast<int>(values.Get(n == 1 ? 0 : i));
  return out;
}

}  // namespace

int CheckedAxis(int axis, int num_axes, const char *what) {
  REQUIRE(axis >= -num_axes && axis < num_axes)
      << what << " " << axis << " is out of range for a " << num_axes << "-axis bottom blob";
  return axis < 0 ? axis + num_axes : axis;
}

ConvGeometry ConvGeometry::Parse(const caffe::ConvolutionParameter &p, int num_spatial_axes) {
  REQUIRE(num_spatial_axes >= 1) << "convolution needs at least one spatial axis after the "
                                    "channel axis";
  ConvGeometry g;
  const bool hw_kernel = p.has_kernel_h() || p.has_kernel_w();
  const bool hw_stride = p.has_stride_h() || p.has_stride_w();
  const bool hw_pad = p.has_pad_h() || p.has_pad_w();
  if (hw_kernel) {
    REQUIRE(num_spatial_axes == 2) << "kernel_h & kernel_w can only be used for 2D convolution";
    REQUIRE(p.kernel_size_size() == 0)
        << "Either kernel_size or kernel_h/w should be specified; not both";
    REQUIRE(p.has_kernel_h() && p.has_kernel_w()) << "kernel_h and kernel_w must be given together";
    g.kernel = {static_cast<int>(p.kernel_h()), static_cast<int>(p.kernel_w())};
  } else {
    REQUIRE(p.kernel_size_size() > 0) << "kernel_size (or kernel_h and kernel_w) must be specified";
    g.kernel = PerAxis(p.kernel_size(), num_spatial_axes, 0, "kernel_size");
  }
  for (int i = 0; i < num_spatial_axes; ++i) {
    REQUIRE(g.kernel[i] > 0) << "filter dimensions must be nonzero (kernel axis " << i << ")";
  }
  if (hw_stride) {
    REQUIRE(num_spatial_axes == 2) << "stride_h & stride_w can only be used for 2D convolution";
    REQUIRE(p.stride_size() == 0) << "Either stride or stride_h/w should be specified; not both";
    g.stride = {static_cast<int>(p.stride_h()), static_cast<int>(p.stride_w())};
  } else {
    g.stride = PerAxis(p.stride(), num_spatial_axes, 1, "stride");
  }
  for (int i = 0; i < num_spatial_axes; ++i) {
    REQUIRE(g.stride[i] > 0) << "stride must be positive (axis " << i << " has " << g.stride[i]
                             << ")";
  }
  if (hw_pad) {
    REQUIRE(num_spatial_axes == 2) << "pad_h & pad_w can only be used for 2D convolution";
    REQUIRE(p.pad_size() == 0) << "Either pad or pad_h/w should be specified; not both";
    g.pad = {static_cast<int>(p.pad_h()), static_cast<int>(p.pad_w())};
  } else {
    g.pad = PerAxis(p.pad(), num_spatial_axes, 0, "pad");
  }
  g.dilation = PerAxis(p.dilation(), num_spatial_axes, 1, "dilation");
  for (int i = 0; i < num_spatial_axes; ++i) {
    REQUIRE(g.dilation[i] > 0) << "dilation must be positive (axis " << i << ")";
  }
  return g;
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype> *> &bottom,
                                             const std::vector<Blob<Dtype> *> &top) {
  const caffe::ConvolutionParameter &conv_param = this->layer_param_.convolution_param();
  force_nd_im2col_ = conv_param.force_nd_im2col();
  const int num_axes = bottom[0]->num_axes();
  channel_axis_ = CheckedAxis(conv_param.axis(), num_axes, "convolution_param.axis");
  num_spatial_axes_ = num_axes - channel_axis_ - 1;
  const ConvGeometry g = ConvGeometry::Parse(conv_param, num_spatial_axes_);
  kernel_shape_ = g.kernel;
  stride_ = g.stride;
  pad_ = g.pad;
  dilation_ = g.dilation;
  is_1x1_ = true;
  for (int i = 0; i < num_spatial_axes_; ++i) {
    is_1x1_ &= kernel_shape_[i] == 1 && stride_[i] == 1 && pad_[i] == 0;
  }
  channels_ = bottom[0]->shape(channel_axis_);
  REQUIRE(conv_param.has_num_output() && conv_param.num_output() > 0)
      << "convolution_param.num_output must be given and positive";
  num_output_ = static_cast<int>(conv_param.num_output());
  group_ = static_cast<int>(conv_param.group());
  REQUIRE(group_ > 0) << "group must be positive";
  REQUIRE(channels_ % group_ == 0) << "the number of input channels (" << channels_
                                   << ") must be divisible by group (" << group_ << ")";
  REQUIRE(num_output_ % group_ == 0)
      << "num_output (" << num_output_ << ") must be divisible by group (" << group_ << ")";
  if (reverse_dimensions()) {
    conv_out_channels_ = channels_;
    conv_in_channels_ = num_output_;
  } else {
    conv_out_channels_ = num_output_;
    conv_in_channels_ = channels_;
  }
  std::vector<int> weight_shape{conv_out_channels_, conv_in_channels_ / group_};
  weight_shape.insert(weight_shape.end(), kernel_shape_.begin(), kernel_shape_.end());
  bias_term_ = conv_param.bias_term();
  const std::vector<int> bias_shape{num_output_};
  const size_t num_blobs = bias_term_ ? 2 : 1;
  if (!this->blobs_.empty()) {
    // Blobs given in the layer parameter: check them. Legacy 4-D shapes of
    // the same size are accepted and reshaped.
    REQUIRE(this->blobs_.size() == num_blobs) << "incorrect number of weight blobs: expected "
                                              << num_blobs << ", got " << this->blobs_.size();
    const std::vector<int> *expected[2] = {&weight_shape, &bias_shape};
    for (size_t i = 0; i < num_blobs; ++i) {
      Blob<Dtype> want(*expected[i]);
      if (this->blobs_[i]->shape() == *expected[i]) continue;
      REQUIRE(this->blobs_[i]->count() == want.count())
          << "incorrect " << (i == 0 ? "weight" : "bias") << " shape: expected "
          << want.shape_string() << "; got " << this->blobs_[i]->shape_string();
      this->blobs_[i]->Reshape(*expected[i]);
    }
  } else {
    this->blobs_.resize(num_blobs);
    this->blobs_[0] = std::make_shared<Blob<Dtype>>(weight_shape);
    GetFiller<Dtype>(conv_param.weight_filler())->Fill(this->blobs_[0].get());
    if (bias_term_) {
      this->blobs_[1] = std::make_shared<Blob<Dtype>>(bias_shape);
      GetFiller<Dtype>(conv_param.bias_filler())->Fill(this->blobs_[1].get());
    }
  }
  kernel_dim_ = this->blobs_[0]->count(1);
  weight_offset_ = conv_out_channels_ * kernel_dim_ / group_;
  for (size_t i = 0; i < num_blobs; ++i) this->set_param_propagate_down(static_cast<int>(i), true);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::Reshape(const std::vector<Blob<Dtype> *> &bottom,
                                          const std::vector<Blob<Dtype> *> &top) {
  const int first_spatial_axis = channel_axis_ + 1;
  REQUIRE(bottom[0]->num_axes() == first_spatial_axis + num_spatial_axes_)
      << "bottom num_axes may not change (was " << first_spatial_axis + num_spatial_axes_
      << ", now " << bottom[0]->num_axes() << ")";
  num_ = bottom[0]->count(0, channel_axis_);
  REQUIRE(bottom[0]->shape(channel_axis_) == channels_)
      << "input size incompatible with convolution kernel: " << channels_
      << " channels expected, got " << bottom[0]->shape(channel_axis_);
  for (size_t i = 1; i < bottom.size(); ++i) {
    REQUIRE(bottom[0]->shape() == bottom[i]->shape())
        << "all bottom blobs must have the same shape: bottom[0] is " << bottom[0]->shape_string()
        << ", bottom[" << i << "] is " << bottom[i]->shape_string();
  }
  bottom_shape_ = &bottom[0]->shape();
  compute_output_shape();
  std::vector<int> top_shape(bottom[0]->shape().begin(),
                             bottom[0]->shape().begin() + channel_axis_);
  top_shape.push_back(num_output_);
  top_shape.insert(top_shape.end(), output_shape_.begin(), output_shape_.end());
  for (auto *t : top) t->Reshape(top_shape);
  const bool reverse = reverse_dimensions();
  conv_out_spatial_dim_ =
      reverse ? bottom[0]->count(first_spatial_axis) : top[0]->count(first_spatial_axis);
  col_offset_ = kernel_dim_ * conv_out_spatial_dim_;
  output_offset_ = conv_out_channels_ * conv_out_spatial_dim_ / group_;
  conv_input_shape_.resize(num_spatial_axes_ + 1);
  for (int i = 0; i <= num_spatial_axes_; ++i) {
    conv_input_shape_[i] =
        reverse ? top[0]->shape(channel_axis_ + i) : bottom[0]->shape(channel_axis_ + i);
  }
  col_buffer_shape_.assign(1, kernel_dim_ * group_);
  for (int i = 0; i < num_spatial_axes_; ++i) {
    col_buffer_shape_.push_back(reverse ? input_shape(i + 1) : output_shape_[i]);
  }
  // A 1x1 kernel reads the input directly; no column buffer needed. Blobs
  // allocate on first access, so unused buffers cost no memory.
  const int threads = MaxThreads();
  if (!is_1x1_) {
    col_buffers_.resize(threads);
    for (auto &b : col_buffers_) {
      if (!b) b = std::make_unique<Blob<Dtype>>();
      b->Reshape(col_buffer_shape_);
    }
  }
  param_grad_count_ = this->blobs_[0]->count() + (bias_term_ ? num_output_ : 0);
  thread_gradients_.Reshape(std::vector<int>{std::max(threads - 1, 1), param_grad_count_});
  bottom_dim_ = bottom[0]->count(channel_axis_);
  top_dim_ = top[0]->count(channel_axis_);
  out_spatial_dim_ = top[0]->count(first_spatial_axis);
  if (bias_term_ && bias_multiplier_.count() != out_spatial_dim_) {
    bias_multiplier_.Reshape(std::vector<int>{out_spatial_dim_});
    caffe_set(out_spatial_dim_, Dtype(1), bias_multiplier_.mutable_cpu_data());
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::conv_im2col_cpu(const Dtype *data, Dtype *col_buff) {
  if (!force_nd_im2col_ && num_spatial_axes_ == 2) {
    im2col_cpu(data, conv_in_channels_, conv_input_shape_[1], conv_input_shape_[2],
               kernel_shape_[0], kernel_shape_[1], pad_[0], pad_[1], stride_[0], stride_[1],
               dilation_[0], dilation_[1], col_buff);
  } else {
    im2col_nd_cpu(data, num_spatial_axes_, conv_input_shape_.data(), col_buffer_shape_.data(),
                  kernel_shape_.data(), pad_.data(), stride_.data(), dilation_.data(), col_buff);
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::conv_col2im_cpu(const Dtype *col_buff, Dtype *data) {
  if (!force_nd_im2col_ && num_spatial_axes_ == 2) {
    col2im_cpu(col_buff, conv_in_channels_, conv_input_shape_[1], conv_input_shape_[2],
               kernel_shape_[0], kernel_shape_[1], pad_[0], pad_[1], stride_[0], stride_[1],
               dilation_[0], dilation_[1], data);
  } else {
    col2im_nd_cpu(col_buff, num_spatial_axes_, conv_input_shape_.data(), col_buffer_shape_.data(),
                  kernel_shape_.data(), pad_.data(), stride_.data(), dilation_.data(), data);
  }
}

template <typename Dtype>
Dtype *BaseConvolutionLayer<Dtype>::ColBuffer(int t) {
  return is_1x1_ ? nullptr : col_buffers_[t]->mutable_cpu_data();
}

template <typename Dtype>
Dtype *BaseConvolutionLayer<Dtype>::ThreadGradients(int t) {
  return thread_gradients_.mutable_cpu_data() + static_cast<size_t>(t - 1) * param_grad_count_;
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::forward_cpu_gemm(const Dtype *input, const Dtype *weights,
                                                   Dtype *output, Dtype *col_buffer,
                                                   bool skip_im2col) {
  const Dtype *col_buff = input;
  if (!is_1x1_) {
    if (!skip_im2col) conv_im2col_cpu(input, col_buffer);
    col_buff = col_buffer;
  }
  for (int g = 0; g < group_; ++g) {
    engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasNoTrans, CblasNoTrans, conv_out_channels_ / group_,
                           conv_out_spatial_dim_, kernel_dim_, Dtype(1),
                           weights + weight_offset_ * g, col_buff + col_offset_ * g, Dtype(0),
                           output + output_offset_ * g);
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::forward_cpu_bias(Dtype *output, const Dtype *bias) {
  caffe_cpu_gemm<Dtype>(CblasNoTrans, CblasNoTrans, num_output_, out_spatial_dim_, 1, Dtype(1),
                        bias, bias_multiplier_.cpu_data(), Dtype(1), output);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::backward_cpu_gemm(const Dtype *output, const Dtype *weights,
                                                    Dtype *input, Dtype *col_buffer) {
  Dtype *col_buff = is_1x1_ ? input : col_buffer;
  for (int g = 0; g < group_; ++g) {
    engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasTrans, CblasNoTrans, kernel_dim_, conv_out_spatial_dim_,
                           conv_out_channels_ / group_, Dtype(1), weights + weight_offset_ * g,
                           output + output_offset_ * g, Dtype(0), col_buff + col_offset_ * g);
  }
  if (!is_1x1_) conv_col2im_cpu(col_buff, input);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::weight_cpu_gemm(const Dtype *input, const Dtype *output,
                                                  Dtype *weights, Dtype *col_buffer) {
  const Dtype *col_buff = input;
  if (!is_1x1_) {
    conv_im2col_cpu(input, col_buffer);
    col_buff = col_buffer;
  }
  for (int g = 0; g < group_; ++g) {
    engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasNoTrans, CblasTrans, conv_out_channels_ / group_,
                           kernel_dim_, conv_out_spatial_dim_, Dtype(1),
                           output + output_offset_ * g, col_buff + col_offset_ * g, Dtype(1),
                           weights + weight_offset_ * g);
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::backward_cpu_bias(Dtype *bias, const Dtype *input) {
  caffe_cpu_gemv<Dtype>(CblasNoTrans, num_output_, out_spatial_dim_, Dtype(1), input,
                        bias_multiplier_.cpu_data(), Dtype(1), bias);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype> *> &bottom,
                                              const std::vector<Blob<Dtype> *> &top) {
  const Dtype *weight = this->blobs_[0]->cpu_data();
  const Dtype *bias = bias_term_ ? this->blobs_[1]->cpu_data() : nullptr;
  if (bias_term_) bias_multiplier_.cpu_data();  // materialise before the threads read it
  for (int t = 0; t < static_cast<int>(col_buffers_.size()); ++t) ColBuffer(t);
  const bool reverse = reverse_dimensions();
  for (size_t i = 0; i < bottom.size(); ++i) {
    const Dtype *bottom_data = bottom[i]->cpu_data();
    Dtype *top_data = top[i]->mutable_cpu_data();
    ParallelRanges(num_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype *col = ColBuffer(t);
      for (int64_t n = lo; n < hi; ++n) {
        const Dtype *input = bottom_data + n * bottom_dim_;
        Dtype *output = top_data + n * top_dim_;
        if (reverse) {
          backward_cpu_gemm(input, weight, output, col);
        } else {
          forward_cpu_gemm(input, weight, output, col);
        }
        if (bias_term_) forward_cpu_bias(output, bias);
      }
    });
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype> *> &top,
                                               const std::vector<bool> &propagate_down,
                                               const std::vector<Blob<Dtype> *> &bottom) {
  const Dtype *weight = this->blobs_[0]->cpu_data();
  const bool reverse = reverse_dimensions();
  const bool weight_grad = this->param_propagate_down(0);
  const bool bias_grad = bias_term_ && this->param_propagate_down(1);
  const int weight_count = this->blobs_[0]->count();
  Dtype *weight_diff = this->blobs_[0]->mutable_cpu_diff();
  Dtype *bias_diff = bias_term_ ? this->blobs_[1]->mutable_cpu_diff() : nullptr;
  if (bias_term_) bias_multiplier_.cpu_data();
  for (int t = 0; t < static_cast<int>(col_buffers_.size()); ++t) ColBuffer(t);
  // Threads 1..T-1 accumulate into their own zeroed buffers; thread 0 into
  // the blobs' diffs (which hold earlier gradients: Caffe accumulates).
  const int used_threads = RangeThreads(num_, 2);
  if (weight_grad || bias_grad) {
    for (int t = 1; t < used_threads; ++t)
      caffe_set(param_grad_count_, Dtype(0), ThreadGradients(t));
  }
  for (size_t i = 0; i < top.size(); ++i) {
    if (!weight_grad && !bias_grad && !propagate_down[i]) continue;
    const Dtype *top_diff = top[i]->cpu_diff();
    const Dtype *bottom_data = bottom[i]->cpu_data();
    Dtype *bottom_diff = propagate_down[i] ? bottom[i]->mutable_cpu_diff() : nullptr;
    ParallelRanges(num_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype *col = ColBuffer(t);
      Dtype *w_acc = weight_diff;
      Dtype *b_acc = bias_diff;
      if (t > 0) {
        w_acc = ThreadGradients(t);
        b_acc = w_acc + weight_count;
      }
      for (int64_t n = lo; n < hi; ++n) {
        const Dtype *input = bottom_data + n * bottom_dim_;
        const Dtype *output_diff = top_diff + n * top_dim_;
        if (bias_grad) backward_cpu_bias(b_acc, output_diff);
        if (!reverse) {
          if (weight_grad) weight_cpu_gemm(input, output_diff, w_acc, col);
          if (propagate_down[i]) {
            backward_cpu_gemm(output_diff, weight, bottom_diff + n * bottom_dim_, col);
          }
        } else {
          // The weight gradient im2col's the top diff; the data gradient
          // reuses that column buffer.
          if (weight_grad) weight_cpu_gemm(output_diff, input, w_acc, col);
          if (propagate_down[i]) {
            forward_cpu_gemm(output_diff, weight, bottom_diff + n * bottom_dim_, col, weight_grad);
          }
        }
      }
    });
  }
  if (used_threads > 1 && (weight_grad || bias_grad)) {
    // Sum the other threads' gradients into the diffs, in thread order.
    ParallelForElements(param_grad_count_, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        Dtype sum = 0;
        for (int t = 1; t < used_threads; ++t) sum += ThreadGradients(t)[k];
        if (k < weight_count) {
          if (weight_grad) weight_diff[k] += sum;
        } else if (bias_grad) {
          bias_diff[k - weight_count] += sum;
        }
      }
    });
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(BaseConvolutionLayer)
#endif

INSTANTIATE_CLASS(BaseConvolutionLayer);

}  // namespace deepspark
