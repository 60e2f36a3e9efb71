// A 2-D convolution through cuDNN, for ConvolutionLayer's GPU path: the
// whole batch in one call per bottom, groups as cuDNN's group count, the
// fastest algorithm (measured by cuDNN's Find) whose workspace fits the
// limit, chosen again whenever the shapes change.
//
// Shapes (NCHW, packed): x (N, C, H, W), y (N, K, OH, OW), w (K, C/group, KH,
// KW), b (K). Arithmetic is strict FP32 / FP64 (CUDNN_FMA_MATH: no TF32),
// so the GPU path gives the CPU's numbers to rounding, as Caffe's.
//
// Thread safety: one thread per instance (the layer's).
#pragma once

#include <cstddef>

namespace deepspark {

struct CudnnConvShape {
  int num = 0, channels = 0, height = 0, width = 0;   // x
  int num_output = 0, out_height = 0, out_width = 0;  // y
  int kernel_h = 0, kernel_w = 0, pad_h = 0, pad_w = 0;
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int group = 1;
  bool operator==(const CudnnConvShape& o) const;
};

// The workspace limit per convolution, bytes: $DEEPSPARK_CUDNN_WORKSPACE_MB
// (default 64 MiB).
size_t CudnnWorkspaceLimit();

template <typename Dtype>
class CudnnConvolution {
 public:
  CudnnConvolution();
  ~CudnnConvolution();
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  // Describes the shapes and picks the algorithms (on the calling thread's
  // current device); a no-op when they did not change. Throws
  // deepspark::Error when cuDNN refuses them.
  void Configure(const CudnnConvShape& shape);
  // y = conv(x, w) (+ b, where b is not null). Device pointers.
  void Forward(const Dtype* x, const Dtype* w, const Dtype* b, Dtype* y);
  // dw += conv_filter_grad(x, dy), db += sum of dy (where not null), and dx
  // = conv_data_grad(w, dy) (where not null): Caffe's accumulation of the
  // parameter gradients, and a fresh bottom gradient.
  void Backward(const Dtype* dy, const Dtype* x, const Dtype* w, Dtype* dw, Dtype* db, Dtype* dx);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace deepspark
