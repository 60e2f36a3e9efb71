// caffe_gpu_* (gpu_math.hpp): cuBLAS, one handle per host thread and device,
// and grid-stride kernels for the element-wise calls.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <map>

#include "cublas_library.hpp"
#include "cudnn_library.hpp"
#include "deepspark/common.hpp"
#include "deepspark/gpu_math.hpp"
#include "kernel_launch.hpp"

namespace deepspark {
namespace {

const char* CublasName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "cuBLAS error";
  }
}

#define CUBLAS_REQUIRE(call)                                                           \
  do {                                                                                 \
    const cublasStatus_t status_ = (call);                                             \
    REQUIRE(status_ == CUBLAS_STATUS_SUCCESS) << #call << ": " << CublasName(status_); \
  } while (0)

// The calling thread's handle for the current device (created on first use;
// handles live as long as the thread).
cublasHandle_t Handle() {
  thread_local std::map<int, cublasHandle_t> handles;
  int device = 0;
  REQUIRE(cudaGetDevice(&device) == cudaSuccess) << "no current GPU";
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasHandle_t handle = nullptr;
  CUBLAS_REQUIRE(Cublas().Create(&handle));
  handles[device] = handle;
  return handle;
}

cublasOperation_t Op(CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? CUBLAS_OP_N : CUBLAS_OP_T; }

template <typename Dtype>
__global__ void SetKernel(int n, Dtype alpha, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = alpha;
  }
}

template <typename Dtype>
__global__ void SignKernel(int n, const Dtype* x, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = (Dtype(0) < x[i]) - (x[i] < Dtype(0));
  }
}

}  // namespace

void LoadGpuMathLibraries() {
  Cublas();
  Cudnn();
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
// gets B and A swapped, as in Caffe.
template <>
void caffe_gpu_gemm<float>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                           float alpha, const float* A, const float* B, float beta, float* C) {
  const int lda = TransA == CblasNoTrans ? K : M;
  const int ldb = TransB == CblasNoTrans ? N : K;
  CUBLAS_REQUIRE(Cublas().Sgemm(Handle(), Op(TransB), Op(TransA), N, M, K, &alpha, B, ldb, A, lda,
                                &beta, C, N));
}
template <>
void caffe_gpu_gemm<double>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                            double alpha, const double* A, const double* B, double beta,
                            double* C) {
  const int lda = TransA == CblasNoTrans ? K : M;
  const int ldb = TransB == CblasNoTrans ? N : K;
  CUBLAS_REQUIRE(Cublas().Dgemm(Handle(), Op(TransB), Op(TransA), N, M, K, &alpha, B, ldb, A, lda,
                                &beta, C, N));
}

// Row-major A (M x N) is column-major A^T (N x M): the transpose flag flips.
template <>
void caffe_gpu_gemv<float>(CBLAS_TRANSPOSE TransA, int M, int N, float alpha, const float* A,
                           const float* x, float beta, float* y) {
  CUBLAS_REQUIRE(Cublas().Sgemv(Handle(), TransA == CblasNoTrans ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                                &alpha, A, N, x, 1, &beta, y, 1));
}
template <>
void caffe_gpu_gemv<double>(CBLAS_TRANSPOSE TransA, int M, int N, double alpha, const double* A,
                            const double* x, double beta, double* y) {
  CUBLAS_REQUIRE(Cublas().Dgemv(Handle(), TransA == CblasNoTrans ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                                &alpha, A, N, x, 1, &beta, y, 1));
}

template <>
void caffe_gpu_axpy<float>(int n, float alpha, const float* X, float* Y) {
  CUBLAS_REQUIRE(Cublas().Saxpy(Handle(), n, &alpha, X, 1, Y, 1));
}
template <>
void caffe_gpu_axpy<double>(int n, double alpha, const double* X, double* Y) {
  CUBLAS_REQUIRE(Cublas().Daxpy(Handle(), n, &alpha, X, 1, Y, 1));
}

template <>
void caffe_gpu_scal<float>(int n, float alpha, float* X) {
  CUBLAS_REQUIRE(Cublas().Sscal(Handle(), n, &alpha, X, 1));
}
template <>
void caffe_gpu_scal<double>(int n, double alpha, double* X) {
  CUBLAS_REQUIRE(Cublas().Dscal(Handle(), n, &alpha, X, 1));
}

template <typename Dtype>
void caffe_gpu_set(int n, Dtype alpha, Dtype* Y) {
  if (n <= 0) return;
  SetKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, alpha, Y);
  RequireKernelLaunched("caffe_gpu_set kernel");
}
template void caffe_gpu_set<float>(int, float, float*);
template void caffe_gpu_set<double>(int, double, double*);

template <typename Dtype>
void caffe_gpu_axpby(int n, Dtype alpha, const Dtype* X, Dtype beta, Dtype* Y) {
  caffe_gpu_scal<Dtype>(n, beta, Y);
  caffe_gpu_axpy<Dtype>(n, alpha, X, Y);
}
template void caffe_gpu_axpby<float>(int, float, const float*, float, float*);
template void caffe_gpu_axpby<double>(int, double, const double*, double, double*);

template <typename Dtype>
void caffe_gpu_copy(int n, const Dtype* X, Dtype* Y) {
  if (X == Y || n <= 0) return;
  const cudaError_t status = cudaMemcpy(Y, X, sizeof(Dtype) * n, cudaMemcpyDeviceToDevice);
  REQUIRE(status == cudaSuccess) << "caffe_gpu_copy of " << n
                                 << " values: " << cudaGetErrorString(status);
}
template void caffe_gpu_copy<float>(int, const float*, float*);
template void caffe_gpu_copy<double>(int, const double*, double*);

template <typename Dtype>
void caffe_gpu_sign(int n, const Dtype* X, Dtype* Y) {
  if (n <= 0) return;
  SignKernel<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, X, Y);
  RequireKernelLaunched("caffe_gpu_sign kernel");
}
template void caffe_gpu_sign<float>(int, const float*, float*);
template void caffe_gpu_sign<double>(int, const double*, double*);

template <>
float caffe_gpu_dot<float>(int n, const float* x, const float* y) {
  float out = 0;
  CUBLAS_REQUIRE(Cublas().Sdot(Handle(), n, x, 1, y, 1, &out));
  return out;
}
template <>
double caffe_gpu_dot<double>(int n, const double* x, const double* y) {
  double out = 0;
  CUBLAS_REQUIRE(Cublas().Ddot(Handle(), n, x, 1, y, 1, &out));
  return out;
}

template <>
float caffe_gpu_asum<float>(int n, const float* x) {
  float out = 0;
  CUBLAS_REQUIRE(Cublas().Sasum(Handle(), n, x, 1, &out));
  return out;
}
template <>
double caffe_gpu_asum<double>(int n, const double* x) {
  double out = 0;
  CUBLAS_REQUIRE(Cublas().Dasum(Handle(), n, x, 1, &out));
  return out;
}

}  // namespace deepspark
