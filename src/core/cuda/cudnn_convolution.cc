#include "cudnn_convolution.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "cudnn_library.hpp"
#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"

// The legacy convolution API is deprecated in cuDNN 9 (still provided).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace deepspark {

bool CudnnConvShape::operator==(const CudnnConvShape& o) const {
  return num == o.num && channels == o.channels && height == o.height && width == o.width &&
         num_output == o.num_output && out_height == o.out_height && out_width == o.out_width &&
         kernel_h == o.kernel_h && kernel_w == o.kernel_w && pad_h == o.pad_h && pad_w == o.pad_w &&
         stride_h == o.stride_h && stride_w == o.stride_w && dilation_h == o.dilation_h &&
         dilation_w == o.dilation_w && group == o.group;
}

size_t CudnnWorkspaceLimit() {
  const char* env = std::getenv("DEEPSPARK_CUDNN_WORKSPACE_MB");
  long mb = 64;
  if (env && *env) {
    char* end = nullptr;
    mb = std::strtol(env, &end, 10);
    REQUIRE(end && *end == '\0' && mb >= 0)
        << "DEEPSPARK_CUDNN_WORKSPACE_MB must be a whole number of MiB, not \"" << env << "\"";
  }
  return static_cast<size_t>(mb) << 20;
}

template <typename Dtype>
struct CudnnConvolution<Dtype>::Impl {
  static constexpr cudnnDataType_t kType =
      std::is_same<Dtype, float>::value ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;

  CudnnConvShape shape;
  bool configured = false;
  cudnnTensorDescriptor_t x_desc = nullptr, y_desc = nullptr, b_desc = nullptr;
  cudnnFilterDescriptor_t w_desc = nullptr;
  cudnnConvolutionDescriptor_t conv_desc = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  void* workspace = nullptr;
  size_t workspace_bytes = 0;

  ~Impl() {
    const CudnnLibrary* lib = nullptr;
    if (x_desc || w_desc || conv_desc) lib = &Cudnn();  // loaded when these were made
    if (x_desc) lib->DestroyTensorDescriptor(x_desc);
    if (y_desc) lib->DestroyTensorDescriptor(y_desc);
    if (b_desc) lib->DestroyTensorDescriptor(b_desc);
    if (w_desc) lib->DestroyFilterDescriptor(w_desc);
    if (conv_desc) lib->DestroyConvolutionDescriptor(conv_desc);
    if (workspace) Gpu().Free(workspace);
  }

  // The fastest of cuDNN's measured algorithms that succeeded and fits the
  // limit; `what` names the direction for the error when none does.
  template <typename Perf>
  static auto Pick(const Perf* perf, int returned, size_t limit, size_t* bytes, const char* what)
      -> decltype(perf->algo) {
    for (int i = 0; i < returned; ++i) {  // cuDNN sorts them fastest first
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= limit) {
        *bytes = std::max(*bytes, perf[i].memory);
        return perf[i].algo;
      }
    }
    THROW_ERROR() << "cuDNN has no " << what << " algorithm for this convolution within the "
                  << (limit >> 20) << " MiB workspace limit (DEEPSPARK_CUDNN_WORKSPACE_MB)";
    return perf[0].algo;  // not reached: the line above throws
  }
};

template <typename Dtype>
CudnnConvolution<Dtype>::CudnnConvolution() : impl_(new Impl) {}

template <typename Dtype>
CudnnConvolution<Dtype>::~CudnnConvolution() {
  delete impl_;
}

template <typename Dtype>
void CudnnConvolution<Dtype>::Configure(const CudnnConvShape& s) {
  Impl& m = *impl_;
  if (m.configured && m.shape == s) return;
  const CudnnLibrary& lib = Cudnn();
  cudnnHandle_t handle = CudnnHandle();
  if (!m.x_desc) {
    RequireCudnn(lib.CreateTensorDescriptor(&m.x_desc), "cudnnCreateTensorDescriptor");
    RequireCudnn(lib.CreateTensorDescriptor(&m.y_desc), "cudnnCreateTensorDescriptor");
    RequireCudnn(lib.CreateTensorDescriptor(&m.b_desc), "cudnnCreateTensorDescriptor");
    RequireCudnn(lib.CreateFilterDescriptor(&m.w_desc), "cudnnCreateFilterDescriptor");
    RequireCudnn(lib.CreateConvolutionDescriptor(&m.conv_desc), "cudnnCreateConvolutionDescriptor");
  }
  m.configured = false;
  RequireCudnn(lib.SetTensor4dDescriptor(m.x_desc, CUDNN_TENSOR_NCHW, Impl::kType, s.num,
                                         s.channels, s.height, s.width),
               "cuDNN bottom descriptor");
  RequireCudnn(lib.SetTensor4dDescriptor(m.y_desc, CUDNN_TENSOR_NCHW, Impl::kType, s.num,
                                         s.num_output, s.out_height, s.out_width),
               "cuDNN top descriptor");
  RequireCudnn(
      lib.SetTensor4dDescriptor(m.b_desc, CUDNN_TENSOR_NCHW, Impl::kType, 1, s.num_output, 1, 1),
      "cuDNN bias descriptor");
  RequireCudnn(lib.SetFilter4dDescriptor(m.w_desc, Impl::kType, CUDNN_TENSOR_NCHW, s.num_output,
                                         s.channels / s.group, s.kernel_h, s.kernel_w),
               "cuDNN weight descriptor");
  // Caffe's convolution is a cross-correlation.
  RequireCudnn(lib.SetConvolution2dDescriptor(m.conv_desc, s.pad_h, s.pad_w, s.stride_h, s.stride_w,
                                              s.dilation_h, s.dilation_w, CUDNN_CROSS_CORRELATION,
                                              Impl::kType),
               "cuDNN convolution descriptor");
  RequireCudnn(lib.SetConvolutionGroupCount(m.conv_desc, s.group), "cuDNN group count");
  RequireCudnn(lib.SetConvolutionMathType(m.conv_desc, CUDNN_FMA_MATH), "cuDNN math type");

  const size_t limit = CudnnWorkspaceLimit();
  size_t bytes = 0;
  constexpr int kMaxAlgos = 16;
  int returned = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[kMaxAlgos];
  RequireCudnn(lib.FindConvolutionForwardAlgorithm(handle, m.x_desc, m.w_desc, m.conv_desc,
                                                   m.y_desc, kMaxAlgos, &returned, fwd),
               "cudnnFindConvolutionForwardAlgorithm");
  m.fwd_algo = Impl::Pick(fwd, returned, limit, &bytes, "forward");
  cudnnConvolutionBwdFilterAlgoPerf_t filter[kMaxAlgos];
  RequireCudnn(lib.FindConvolutionBackwardFilterAlgorithm(handle, m.x_desc, m.y_desc, m.conv_desc,
                                                          m.w_desc, kMaxAlgos, &returned, filter),
               "cudnnFindConvolutionBackwardFilterAlgorithm");
  m.filter_algo = Impl::Pick(filter, returned, limit, &bytes, "weight-gradient");
  cudnnConvolutionBwdDataAlgoPerf_t data[kMaxAlgos];
  RequireCudnn(lib.FindConvolutionBackwardDataAlgorithm(handle, m.w_desc, m.y_desc, m.conv_desc,
                                                        m.x_desc, kMaxAlgos, &returned, data),
               "cudnnFindConvolutionBackwardDataAlgorithm");
  m.data_algo = Impl::Pick(data, returned, limit, &bytes, "input-gradient");
  // One workspace for the three directions (they never run at once).
  if (bytes > m.workspace_bytes) {
    if (m.workspace) Gpu().Free(m.workspace);
    m.workspace = nullptr;
    m.workspace_bytes = 0;
    m.workspace = Gpu().Malloc(bytes);
    m.workspace_bytes = bytes;
  }
  m.shape = s;
  m.configured = true;
}

template <typename Dtype>
void CudnnConvolution<Dtype>::Forward(const Dtype* x, const Dtype* w, const Dtype* b, Dtype* y) {
  Impl& m = *impl_;
  CHECK(m.configured);
  const CudnnLibrary& lib = Cudnn();
  cudnnHandle_t handle = CudnnHandle();
  const Dtype one = 1, zero = 0;
  RequireCudnn(
      lib.ConvolutionForward(handle, &one, m.x_desc, x, m.w_desc, w, m.conv_desc, m.fwd_algo,
                             m.workspace, m.workspace_bytes, &zero, m.y_desc, y),
      "cudnnConvolutionForward");
  if (b) {
    RequireCudnn(lib.AddTensor(handle, &one, m.b_desc, b, &one, m.y_desc, y), "cudnnAddTensor");
  }
}

template <typename Dtype>
void CudnnConvolution<Dtype>::Backward(const Dtype* dy, const Dtype* x, const Dtype* w, Dtype* dw,
                                       Dtype* db, Dtype* dx) {
  Impl& m = *impl_;
  CHECK(m.configured);
  const CudnnLibrary& lib = Cudnn();
  cudnnHandle_t handle = CudnnHandle();
  const Dtype one = 1, zero = 0;
  if (db) {
    RequireCudnn(lib.ConvolutionBackwardBias(handle, &one, m.y_desc, dy, &one, m.b_desc, db),
                 "cudnnConvolutionBackwardBias");
  }
  if (dw) {
    RequireCudnn(lib.ConvolutionBackwardFilter(handle, &one, m.x_desc, x, m.y_desc, dy, m.conv_desc,
                                               m.filter_algo, m.workspace, m.workspace_bytes, &one,
                                               m.w_desc, dw),
                 "cudnnConvolutionBackwardFilter");
  }
  if (dx) {
    RequireCudnn(lib.ConvolutionBackwardData(handle, &one, m.w_desc, w, m.y_desc, dy, m.conv_desc,
                                             m.data_algo, m.workspace, m.workspace_bytes, &zero,
                                             m.x_desc, dx),
                 "cudnnConvolutionBackwardData");
  }
}

template class CudnnConvolution<float>;
template class CudnnConvolution<double>;

}  // namespace deepspark
