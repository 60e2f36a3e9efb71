// CPU math: BLAS wrappers (OpenBLAS through cblas) and element-wise kernels,
// with Caffe's names and argument orders so layer code reads like Caffe's.
// All arrays are contiguous and row-major; n counts elements.
//
// Thread safety: the functions are re-entrant; the rng functions use the
// calling thread's generator (see rng.hpp).
#pragma once

#include <cblas.h>

#include <cmath>
#include <cstring>

#include "deepspark/common.hpp"

namespace deepspark {

// C = alpha * op(A) * op(B) + beta * C, with op(A) M x K, op(B) K x N.
template <typename Dtype>
void caffe_cpu_gemm(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                    Dtype alpha, const Dtype* A, const Dtype* B, Dtype beta, Dtype* C);
// The same product through oneDNN's sgemm (its JIT kernels use AVX-512 where
// the CPU has it) for float; double goes to BLAS. The DNNL engine's GEMMs.
template <typename Dtype>
void dnnl_cpu_gemm(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                   Dtype alpha, const Dtype* A, const Dtype* B, Dtype beta, Dtype* C);
// caffe_cpu_gemm (BLAS: Caffe's path) or, with use_dnnl, dnnl_cpu_gemm: the
// GEMM of a layer whose engine (deepspark/engine.hpp) chose one of them.
template <typename Dtype>
inline void engine_cpu_gemm(bool use_dnnl, CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M,
                            int N, int K, Dtype alpha, const Dtype* A, const Dtype* B, Dtype beta,
                            Dtype* C) {
  if (use_dnnl) {
    dnnl_cpu_gemm<Dtype>(TransA, TransB, M, N, K, alpha, A, B, beta, C);
  } else {
    caffe_cpu_gemm<Dtype>(TransA, TransB, M, N, K, alpha, A, B, beta, C);
  }
}
// y = alpha * op(A) * x + beta * y, with A M x N.
template <typename Dtype>
void caffe_cpu_gemv(CBLAS_TRANSPOSE TransA, int M, int N, Dtype alpha, const Dtype* A,
                    const Dtype* x, Dtype beta, Dtype* y);
// Y += alpha * X
template <typename Dtype>
void caffe_axpy(int N, Dtype alpha, const Dtype* X, Dtype* Y);
// Y = alpha * X + beta * Y
template <typename Dtype>
void caffe_cpu_axpby(int N, Dtype alpha, const Dtype* X, Dtype beta, Dtype* Y);
template <typename Dtype>
void caffe_copy(int N, const Dtype* X, Dtype* Y);
template <typename Dtype>
void caffe_set(int N, Dtype alpha, Dtype* X);
// X += alpha
template <typename Dtype>
void caffe_add_scalar(int N, Dtype alpha, Dtype* X);
// X *= alpha
template <typename Dtype>
void caffe_scal(int N, Dtype alpha, Dtype* X);
// y = alpha * x
template <typename Dtype>
void caffe_cpu_scale(int n, Dtype alpha, const Dtype* x, Dtype* y);
template <typename Dtype>
void caffe_sqr(int N, const Dtype* a, Dtype* y);
template <typename Dtype>
void caffe_sqrt(int N, const Dtype* a, Dtype* y);
template <typename Dtype>
void caffe_add(int N, const Dtype* a, const Dtype* b, Dtype* y);
template <typename Dtype>
void caffe_sub(int N, const Dtype* a, const Dtype* b, Dtype* y);
template <typename Dtype>
void caffe_mul(int N, const Dtype* a, const Dtype* b, Dtype* y);
template <typename Dtype>
void caffe_div(int N, const Dtype* a, const Dtype* b, Dtype* y);
template <typename Dtype>
void caffe_powx(int n, const Dtype* a, Dtype b, Dtype* y);
template <typename Dtype>
void caffe_exp(int n, const Dtype* a, Dtype* y);
template <typename Dtype>
void caffe_log(int n, const Dtype* a, Dtype* y);
template <typename Dtype>
void caffe_abs(int n, const Dtype* a, Dtype* y);
// y = sign(x) in {-1, 0, 1}
template <typename Dtype>
void caffe_cpu_sign(int n, const Dtype* x, Dtype* y);
template <typename Dtype>
Dtype caffe_cpu_dot(int n, const Dtype* x, const Dtype* y);
template <typename Dtype>
Dtype caffe_cpu_strided_dot(int n, const Dtype* x, int incx, const Dtype* y, int incy);
template <typename Dtype>
Dtype caffe_cpu_asum(int n, const Dtype* x);

// Random numbers from the calling thread's generator (rng.hpp).
// Uniform in [a, b].
template <typename Dtype>
void caffe_rng_uniform(int n, Dtype a, Dtype b, Dtype* r);
template <typename Dtype>
void caffe_rng_gaussian(int n, Dtype mu, Dtype sigma, Dtype* r);
// r[i] = 1 with probability p, else 0.
template <typename Dtype>
void caffe_rng_bernoulli(int n, Dtype p, int* r);
template <typename Dtype>
void caffe_rng_bernoulli(int n, Dtype p, unsigned int* r);

}  // namespace deepspark
