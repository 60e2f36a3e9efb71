// Shared machinery of Convolution and Deconvolution (and the parameter
// parsing Im2col also uses): kernel/pad/stride/dilation per spatial axis,
// groups, weight and bias blobs, and the im2col + GEMM kernels.
//
// Shapes: bottom (outer..., C, spatial...) with C at `axis` (default 1);
// top (outer..., num_output, out_spatial...). Parameter blobs:
// W (conv_out_channels, conv_in_channels / group, kernel...), b (num_output)
// when bias_term. Convolution maps C -> num_output; Deconvolution is the
// transposed operation (reverse_dimensions), so its W is (C, num_output/group,
// k...).
//
// Parallelism: Forward and Backward split the images of a batch over the
// engine's threads (deepspark/parallel.hpp); each thread has its own column
// buffer and weight/bias gradient accumulator and runs single-threaded GEMMs.
// The per-thread gradients are summed in thread order, so a run is
// reproducible for a given thread count.
//
// Thread safety: a layer instance is used by one thread at a time (it owns
// column buffers that Forward and Backward overwrite).
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class CudnnConvolution;  // src/core/cuda/cudnn_convolution.hpp (CUDA builds)

// Kernel geometry read from a ConvolutionParameter, validated; throws
// deepspark::Error on bad values. Also used by the Im2col layer.
struct ConvGeometry {
  std::vector<int> kernel, stride, pad, dilation;
  // Parses conv_param for num_spatial_axes spatial axes.
  static ConvGeometry Parse(const caffe::ConvolutionParameter &conv_param, int num_spatial_axes);
};

// Resolves a possibly negative axis for a blob of num_axes axes; throws
// deepspark::Error naming `what` when out of range.
int CheckedAxis(int axis, int num_axes, const char *what);

template <typename Dtype>
class BaseConvolutionLayer : public Layer<Dtype> {
 public:
  explicit BaseConvolutionLayer(const caffe::LayerParameter &param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype> *> &bottom,
                  const std::vector<Blob<Dtype> *> &top) override;
  void Reshape(const std::vector<Blob<Dtype> *> &bottom,
               const std::vector<Blob<Dtype> *> &top) override;

  int MinBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }
  bool EqualNumBottomTopBlobs() const override { return true; }

 protected:
  // Per bottom and per image: the GEMMs below, with the roles of
  // forward_cpu_gemm and backward_cpu_gemm swapped when reverse_dimensions().
  void Forward_cpu(const std::vector<Blob<Dtype> *> &bottom,
                   const std::vector<Blob<Dtype> *> &top) override;
  void Backward_cpu(const std::vector<Blob<Dtype> *> &top, const std::vector<bool> &propagate_down,
                    const std::vector<Blob<Dtype> *> &bottom) override;
  // The same on the GPU (base_conv_layer.cu): through cuDNN, the whole batch
  // at once, for 2-D convolutions unless engine: CAFFE; else im2col + cuBLAS
  // one image after another, as Caffe's own engine.
  DS_DECLARE_GPU_PATHS;

  // GEMM helpers for one image (n-th item): weights (out x kernel_dim) times
  // columns (kernel_dim x out_spatial), per group. col_buff: the calling
  // thread's column buffer (kernel_dim * group x out_spatial).
  void forward_cpu_gemm(const Dtype *input, const Dtype *weights, Dtype *output, Dtype *col_buff,
                        bool skip_im2col = false);
  void forward_cpu_bias(Dtype *output, const Dtype *bias);
  void backward_cpu_gemm(const Dtype *output, const Dtype *weights, Dtype *input, Dtype *col_buff);
  void weight_cpu_gemm(const Dtype *input, const Dtype *output, Dtype *weights, Dtype *col_buff);
  void backward_cpu_bias(Dtype *bias, const Dtype *input);

  // The spatial output shape from the input shape (conv: floor formula;
  // deconv: its inverse).
  virtual void compute_output_shape() = 0;
  // True: the im2col path's GEMMs run through oneDNN's sgemm (the DNNL
  // engine) instead of BLAS (Caffe's path).
  bool dnnl_gemm_ = false;

  // True for Deconvolution: the GEMMs run in the transposed direction.
  virtual bool reverse_dimensions() = 0;

  // The spatial input dims of the current bottom (after the channel axis).
  int input_shape(int i) const { return (*bottom_shape_)[channel_axis_ + i]; }

  std::vector<int> kernel_shape_, stride_, pad_, dilation_;
  std::vector<int> conv_input_shape_;  // (C, spatial...) of the im2col image
  std::vector<int> col_buffer_shape_;
  std::vector<int> output_shape_;  // spatial output dims
  const std::vector<int> *bottom_shape_ = nullptr;

  int num_spatial_axes_ = 0;
  int bottom_dim_ = 0;
  int top_dim_ = 0;
  int channel_axis_ = 1;
  int num_ = 0;
  int channels_ = 0;
  int group_ = 1;
  int out_spatial_dim_ = 0;
  int weight_offset_ = 0;
  int num_output_ = 0;
  bool bias_term_ = true;
  bool is_1x1_ = false;
  bool force_nd_im2col_ = false;

 private:
  void conv_im2col_cpu(const Dtype *data, Dtype *col_buff);
  void conv_col2im_cpu(const Dtype *col_buff, Dtype *data);
  // The GPU twins of the helpers above (device pointers; 2 spatial axes).
  void conv_im2col_gpu(const Dtype *data, Dtype *col_buff);
  void conv_col2im_gpu(const Dtype *col_buff, Dtype *data);
  void forward_gpu_gemm(const Dtype *input, const Dtype *weights, Dtype *output, Dtype *col_buff,
                        bool skip_im2col);
  void backward_gpu_gemm(const Dtype *output, const Dtype *weights, Dtype *input, Dtype *col_buff);
  void weight_gpu_gemm(const Dtype *input, const Dtype *output, Dtype *weights, Dtype *col_buff);

  int conv_out_channels_ = 0;
  int conv_in_channels_ = 0;
  int conv_out_spatial_dim_ = 0;
  int kernel_dim_ = 0;
  int col_offset_ = 0;
  int output_offset_ = 0;

  // The column buffer of thread t (allocated on first use, so a layer that
  // runs another engine never allocates them).
  Dtype *ColBuffer(int t);
  // Gradient accumulators of threads 1..T-1 (thread 0 adds into the blob's
  // diff directly): weights then bias, zeroed per Backward.
  Dtype *ThreadGradients(int t);

  // Whether the GPU path goes through cuDNN; looks for it on first use.
  bool UseCudnn();
  // Describes the current shapes to cudnn_ (a no-op when they did not
  // change).
  void ConfigureCudnn();
  // shared_ptr: the type is complete only in the CUDA build's .cu.
  std::shared_ptr<CudnnConvolution<Dtype>> cudnn_;
  bool cudnn_checked_ = false;

  std::vector<std::unique_ptr<Blob<Dtype>>> col_buffers_;
  Blob<Dtype> thread_gradients_;
  int param_grad_count_ = 0;
  Blob<Dtype> bias_multiplier_;
};

}  // namespace deepspark
