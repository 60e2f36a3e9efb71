// GPU math: Caffe's caffe_gpu_* on device pointers (cuBLAS for the BLAS
// calls, own kernels for the element-wise ones), with the argument orders of
// their CPU twins in math_functions.hpp (row-major, n counts elements). All
// run on the calling thread's current device and its default stream, and are
// ordered with the copies SyncedMemory makes.
//
// Without the CUDA backend each call throws deepspark::Error (gpu.hpp says
// why); a layer only reaches them after asking for gpu_data, which throws
// first.
//
// Thread safety: re-entrant; each host thread has its own cuBLAS handle.
#pragma once

#include <cblas.h>

namespace deepspark {

// Loads the libraries the GPU math needs (cuBLAS, and cuDNN for the
// convolutions; on first use otherwise) and looks up every function it
// calls: throws deepspark::Error saying what is missing. Needs no device.
// (Without cuDNN the convolutions fall back to im2col + cuBLAS.)
void LoadGpuMathLibraries();

// C = alpha * op(A) * op(B) + beta * C, with op(A) M x K, op(B) K x N.
template <typename Dtype>
void caffe_gpu_gemm(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                    Dtype alpha, const Dtype* A, const Dtype* B, Dtype beta, Dtype* C);
// y = alpha * op(A) * x + beta * y, with A M x N.
template <typename Dtype>
void caffe_gpu_gemv(CBLAS_TRANSPOSE TransA, int M, int N, Dtype alpha, const Dtype* A,
                    const Dtype* x, Dtype beta, Dtype* y);
// Y += alpha * X.
template <typename Dtype>
void caffe_gpu_axpy(int n, Dtype alpha, const Dtype* X, Dtype* Y);
// X *= alpha.
template <typename Dtype>
void caffe_gpu_scal(int n, Dtype alpha, Dtype* X);
// Y[i] = alpha.
template <typename Dtype>
void caffe_gpu_set(int n, Dtype alpha, Dtype* Y);
// Y = alpha * X + beta * Y (Y scaled first, as Caffe's).
template <typename Dtype>
void caffe_gpu_axpby(int n, Dtype alpha, const Dtype* X, Dtype beta, Dtype* Y);
// Y = X (device to device).
template <typename Dtype>
void caffe_gpu_copy(int n, const Dtype* X, Dtype* Y);
// Y[i] = sign(X[i]) in {-1, 0, 1}.
template <typename Dtype>
void caffe_gpu_sign(int n, const Dtype* X, Dtype* Y);
// The dot product and the sum of absolute values, returned to the host.
template <typename Dtype>
Dtype caffe_gpu_dot(int n, const Dtype* x, const Dtype* y);
template <typename Dtype>
Dtype caffe_gpu_asum(int n, const Dtype* x);

}  // namespace deepspark
