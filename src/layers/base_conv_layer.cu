// The GPU path of Convolution and Deconvolution. 2-D convolutions go
// through cuDNN (cudnn_convolution.hpp) where it loads, unless the layer
// says engine: CAFFE. Otherwise Caffe's im2col + GEMM per image, with
// im2col/col2im as kernels and the GEMMs through cuBLAS, in the same order
// and roles as base_conv_layer.cc. N-d convolutions (other than 2 spatial
// axes, or force_nd_im2col) run their CPU code.
#include <mutex>
#include <string>

#include "../core/cuda/cudnn_convolution.hpp"
#include "../core/cuda/cudnn_library.hpp"
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/base_conv_layer.hpp"

namespace deepspark {
namespace {

// One thread per (channel, output row, output column): writes that
// position's kernel_h x kernel_w values into the column buffer (zeros in the
// padding).
template <typename Dtype>
__global__ void Im2colKernel(int n, const Dtype* data_im, int height, int width, int kernel_h,
                             int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w,
                             int dilation_h, int dilation_w, int height_col, int width_col,
                             Dtype* data_col) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int w_col = index % width_col;
    const int h_index = index / width_col;
    const int h_col = h_index % height_col;
    const int c_im = h_index / height_col;
    const int h_offset = h_col * stride_h - pad_h;
    const int w_offset = w_col * stride_w - pad_w;
    Dtype* col = data_col + ((c_im * kernel_h * kernel_w) * height_col + h_col) * width_col + w_col;
    const Dtype* im = data_im + c_im * height * width;
    for (int i = 0; i < kernel_h; ++i) {
      for (int j = 0; j < kernel_w; ++j) {
        const int h_im = h_offset + i * dilation_h;
        const int w_im = w_offset + j * dilation_w;
        *col = (h_im >= 0 && w_im >= 0 && h_im < height && w_im < width) ? im[h_im * width + w_im]
                                                                         : Dtype(0);
        col += height_col * width_col;
      }
    }
  }
}

// One thread per image value: the sum of the column entries that read it
// (no atomics, so the sum's order is fixed).
template <typename Dtype>
__global__ void Col2imKernel(int n, const Dtype* data_col, int height, int width, int kernel_h,
                             int kernel_w, int pad_h, int pad_w, int stride_h, int stride_w,
                             int dilation_h, int dilation_w, int height_col, int width_col,
                             Dtype* data_im) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int w_im = index % width + pad_w;
    const int h_im = (index / width) % height + pad_h;
    const int c_im = index / (width * height);
    const int extent_w = (kernel_w - 1) * dilation_w + 1;
    const int extent_h = (kernel_h - 1) * dilation_h + 1;
    const int w_col_start = w_im < extent_w ? 0 : (w_im - extent_w) / stride_w + 1;
    const int w_col_end = min(w_im / stride_w + 1, width_col);
    const int h_col_start = h_im < extent_h ? 0 : (h_im - extent_h) / stride_h + 1;
    const int h_col_end = min(h_im / stride_h + 1, height_col);
    Dtype value = 0;
    for (int h_col = h_col_start; h_col < h_col_end; ++h_col) {
      for (int w_col = w_col_start; w_col < w_col_end; ++w_col) {
        int h_k = h_im - h_col * stride_h;
        int w_k = w_im - w_col * stride_w;
        if (h_k % dilation_h == 0 && w_k % dilation_w == 0) {
          h_k /= dilation_h;
          w_k /= dilation_w;
          const int col_index =
              (((c_im * kernel_h + h_k) * kernel_w + w_k) * height_col + h_col) * width_col + w_col;
          value += data_col[col_index];
        }
      }
    }
    data_im[index] = value;
  }
}

}  // namespace

template <typename Dtype>
bool BaseConvolutionLayer<Dtype>::UseCudnn() {
  // cuDNN's descriptors here are 4-D NCHW: 2 spatial axes after channel axis
  // 1. Deconvolution stays on im2col + cuBLAS.
  if (force_nd_im2col_ || num_spatial_axes_ != 2 || channel_axis_ != 1 || reverse_dimensions()) {
    return false;
  }
  const auto engine = this->layer_param_.convolution_param().engine();
  if (engine == caffe::ConvolutionParameter::CAFFE) return false;
  if (!cudnn_checked_) {
    cudnn_checked_ = true;
    std::string why;
    if (CudnnAvailable(&why)) {
      cudnn_ = std::make_shared<CudnnConvolution<Dtype>>();
    } else {
      REQUIRE(engine != caffe::ConvolutionParameter::CUDNN)
          << "layer '" << this->layer_param_.name() << "' asks for engine CUDNN: " << why;
      static std::once_flag said;
      std::call_once(
          said, [&] { LOG(WARNING) << "convolutions on the GPU use im2col + cuBLAS: " << why; });
    }
  }
  return cudnn_ != nullptr;
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::ConfigureCudnn() {
  CudnnConvShape s;
  s.num = num_;
  s.channels = channels_;
  s.height = input_shape(1);
  s.width = input_shape(2);
  s.num_output = num_output_;
  s.out_height = output_shape_[0];
  s.out_width = output_shape_[1];
  s.kernel_h = kernel_shape_[0];
  s.kernel_w = kernel_shape_[1];
  s.pad_h = pad_[0];
  s.pad_w = pad_[1];
  s.stride_h = stride_[0];
  s.stride_w = stride_[1];
  s.dilation_h = dilation_[0];
  s.dilation_w = dilation_[1];
  s.group = group_;
  cudnn_->Configure(s);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                              const std::vector<Blob<Dtype>*>& top) {
  if (UseCudnn()) {
    if (num_ == 0) return;  // cuDNN takes no empty tensor
    ConfigureCudnn();
    const Dtype* bias = bias_term_ ? this->blobs_[1]->gpu_data() : nullptr;
    for (size_t i = 0; i < bottom.size(); ++i) {
      cudnn_->Forward(bottom[i]->gpu_data(), this->blobs_[0]->gpu_data(), bias,
                      top[i]->mutable_gpu_data());
    }
    return;
  }
  if (force_nd_im2col_ || num_spatial_axes_ != 2) return Forward_cpu(bottom, top);
  const Dtype* weight = this->blobs_[0]->gpu_data();
  Dtype* col = is_1x1_ ? nullptr : col_buffers_[0]->mutable_gpu_data();
  const bool reverse = reverse_dimensions();
  for (size_t i = 0; i < bottom.size(); ++i) {
    const Dtype* bottom_data = bottom[i]->gpu_data();
    Dtype* top_data = top[i]->mutable_gpu_data();
    for (int n = 0; n < num_; ++n) {
      const Dtype* input = bottom_data + static_cast<size_t>(n) * bottom_dim_;
      Dtype* output = top_data + static_cast<size_t>(n) * top_dim_;
      if (reverse) {
        backward_gpu_gemm(input, weight, output, col);
      } else {
        forward_gpu_gemm(input, weight, output, col, false);
      }
      if (bias_term_) {
        caffe_gpu_gemm<Dtype>(CblasNoTrans, CblasNoTrans, num_output_, out_spatial_dim_, 1,
                              Dtype(1), this->blobs_[1]->gpu_data(), bias_multiplier_.gpu_data(),
                              Dtype(1), output);
      }
    }
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                               const std::vector<bool>& propagate_down,
                                               const std::vector<Blob<Dtype>*>& bottom) {
  const bool cudnn = UseCudnn();
  if (!cudnn && (force_nd_im2col_ || num_spatial_axes_ != 2)) {
    return Backward_cpu(top, propagate_down, bottom);
  }
  const Dtype* weight = this->blobs_[0]->gpu_data();
  const bool reverse = reverse_dimensions();
  const bool weight_grad = this->param_propagate_down(0);
  const bool bias_grad = bias_term_ && this->param_propagate_down(1);
  Dtype* weight_diff = weight_grad ? this->blobs_[0]->mutable_gpu_diff() : nullptr;
  Dtype* bias_diff = bias_grad ? this->blobs_[1]->mutable_gpu_diff() : nullptr;
  if (cudnn) {
    if (num_ == 0) return;
    ConfigureCudnn();
    for (size_t i = 0; i < top.size(); ++i) {
      if (!weight_grad && !bias_grad && !propagate_down[i]) continue;
      cudnn_->Backward(top[i]->gpu_diff(), bottom[i]->gpu_data(), weight, weight_diff, bias_diff,
                       propagate_down[i] ? bottom[i]->mutable_gpu_diff() : nullptr);
    }
    return;
  }
  Dtype* col = is_1x1_ ? nullptr : col_buffers_[0]->mutable_gpu_data();
  for (size_t i = 0; i < top.size(); ++i) {
    if (!weight_grad && !bias_grad && !propagate_down[i]) continue;
    const Dtype* top_diff = top[i]->gpu_diff();
    const Dtype* bottom_data = bottom[i]->gpu_data();
    Dtype* bottom_diff = propagate_down[i] ? bottom[i]->mutable_gpu_diff() : nullptr;
    for (int n = 0; n < num_; ++n) {
      const Dtype* input = bottom_data + static_cast<size_t>(n) * bottom_dim_;
      const Dtype* output_diff = top_diff + static_cast<size_t>(n) * top_dim_;
      if (bias_grad) {
        caffe_gpu_gemv<Dtype>(CblasNoTrans, num_output_, out_spatial_dim_, Dtype(1), output_diff,
                              bias_multiplier_.gpu_data(), Dtype(1), bias_diff);
      }
      if (!reverse) {
        if (weight_grad) weight_gpu_gemm(input, output_diff, weight_diff, col);
        if (propagate_down[i]) {
          backward_gpu_gemm(output_diff, weight, bottom_diff + static_cast<size_t>(n) * bottom_dim_,
                            col);
        }
      } else {
        if (weight_grad) weight_gpu_gemm(output_diff, input, weight_diff, col);
        if (propagate_down[i]) {
          forward_gpu_gemm(output_diff, weight, bottom_diff + static_cast<size_t>(n) * bottom_dim_,
                           col, weight_grad);
        }
      }
    }
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::conv_im2col_gpu(const Dtype* data, Dtype* col_buff) {
  const int height = conv_input_shape_[1], width = conv_input_shape_[2];
  const int height_col = col_buffer_shape_[1], width_col = col_buffer_shape_[2];
  const int n = conv_in_channels_ * height_col * width_col;
  if (n == 0) return;
  Im2colKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
      n, data, height, width, kernel_shape_[0], kernel_shape_[1], pad_[0], pad_[1], stride_[0],
      stride_[1], dilation_[0], dilation_[1], height_col, width_col, col_buff);
  RequireKernelLaunched("im2col kernel");
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::conv_col2im_gpu(const Dtype* col_buff, Dtype* data) {
  const int height = conv_input_shape_[1], width = conv_input_shape_[2];
  const int height_col = col_buffer_shape_[1], width_col = col_buffer_shape_[2];
  const int n = conv_in_channels_ * height * width;
  if (n == 0) return;
  Col2imKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
      n, col_buff, height, width, kernel_shape_[0], kernel_shape_[1], pad_[0], pad_[1], stride_[0],
      stride_[1], dilation_[0], dilation_[1], height_col, width_col, data);
  RequireKernelLaunched("col2im kernel");
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::forward_gpu_gemm(const Dtype* input, const Dtype* weights,
                                                   Dtype* output, Dtype* col_buffer,
                                                   bool skip_im2col) {
  const Dtype* col_buff = input;
  if (!is_1x1_) {
    if (!skip_im2col) conv_im2col_gpu(input, col_buffer);
    col_buff = col_buffer;
  }
  for (int g = 0; g < group_; ++g) {
    caffe_gpu_gemm<Dtype>(CblasNoTrans, CblasNoTrans, conv_out_channels_ / group_,
                          conv_out_spatial_dim_, kernel_dim_, Dtype(1),
                          weights + weight_offset_ * g, col_buff + col_offset_ * g, Dtype(0),
                          output + output_offset_ * g);
  }
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::backward_gpu_gemm(const Dtype* output, const Dtype* weights,
                                                    Dtype* input, Dtype* col_buffer) {
  Dtype* col_buff = is_1x1_ ? input : col_buffer;
  for (int g = 0; g < group_; ++g) {
    caffe_gpu_gemm<Dtype>(CblasTrans, CblasNoTrans, kernel_dim_, conv_out_spatial_dim_,
                          conv_out_channels_ / group_, Dtype(1), weights + weight_offset_ * g,
                          output + output_offset_ * g, Dtype(0), col_buff + col_offset_ * g);
  }
  if (!is_1x1_) conv_col2im_gpu(col_buff, input);
}

template <typename Dtype>
void BaseConvolutionLayer<Dtype>::weight_gpu_gemm(const Dtype* input, const Dtype* output,
                                                  Dtype* weights, Dtype* col_buffer) {
  const Dtype* col_buff = input;
  if (!is_1x1_) {
    conv_im2col_gpu(input, col_buffer);
    col_buff = col_buffer;
  }
  for (int g = 0; g < group_; ++g) {
    caffe_gpu_gemm<Dtype>(CblasNoTrans, CblasTrans, conv_out_channels_ / group_, kernel_dim_,
                          conv_out_spatial_dim_, Dtype(1), output + output_offset_ * g,
                          col_buff + col_offset_ * g, Dtype(1), weights + weight_offset_ * g);
  }
}

DS_INSTANTIATE_GPU_PATHS(BaseConvolutionLayer);

}  // namespace deepspark
