#include "deepspark/math_functions.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "deepspark/parallel.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {

template <>
void caffe_cpu_gemm<float>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                           float alpha, const float* A, const float* B, float beta, float* C) {
  int lda = (TransA == CblasNoTrans) ? K : M;
  int ldb = (TransB == CblasNoTrans) ? N : K;
  cblas_sgemm(CblasRowMajor, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
}
template <>
void caffe_cpu_gemm<double>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                            double alpha, const double* A, const double* B, double beta,
                            double* C) {
  int lda = (TransA == CblasNoTrans) ? K : M;
  int ldb = (TransB == CblasNoTrans) ? N : K;
  cblas_dgemm(CblasRowMajor, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
}

template <>
void dnnl_cpu_gemm<float>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                          float alpha, const float* A, const float* B, float beta, float* C) {
  const int lda = (TransA == CblasNoTrans) ? K : M;
  const int ldb = (TransB == CblasNoTrans) ? N : K;
  const dnnl_status_t status =
      dnnl_sgemm(TransA == CblasNoTrans ? 'N' : 'T', TransB == CblasNoTrans ? 'N' : 'T', M, N, K,
                 alpha, A, lda, B, ldb, beta, C, N);
  CHECK_EQ(status, dnnl_success) << "dnnl_sgemm " << M << "x" << N << "x" << K;
}
template <>
void dnnl_cpu_gemm<double>(CBLAS_TRANSPOSE TransA, CBLAS_TRANSPOSE TransB, int M, int N, int K,
                           double alpha, const double* A, const double* B, double beta, double* C) {
  caffe_cpu_gemm<double>(TransA, TransB, M, N, K, alpha, A, B, beta, C);
}

template <>
void caffe_cpu_gemv<float>(CBLAS_TRANSPOSE TransA, int M, int N, float alpha, const float* A,
                           const float* x, float beta, float* y) {
  cblas_sgemv(CblasRowMajor, TransA, M, N, alpha, A, N, x, 1, beta, y, 1);
}
template <>
void caffe_cpu_gemv<double>(CBLAS_TRANSPOSE TransA, int M, int N, double alpha, const double* A,
                            const double* x, double beta, double* y) {
  cblas_dgemv(CblasRowMajor, TransA, M, N, alpha, A, N, x, 1, beta, y, 1);
}

template <>
void caffe_axpy<float>(int N, float alpha, const float* X, float* Y) {
  cblas_saxpy(N, alpha, X, 1, Y, 1);
}
template <>
void caffe_axpy<double>(int N, double alpha, const double* X, double* Y) {
  cblas_daxpy(N, alpha, X, 1, Y, 1);
}

template <typename Dtype>
void caffe_cpu_axpby(int N, Dtype alpha, const Dtype* X, Dtype beta, Dtype* Y) {
  ParallelForElements(N, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Y[i] = alpha * X[i] + beta * Y[i];
    }
  });
}

template <typename Dtype>
void caffe_copy(int N, const Dtype* X, Dtype* Y) {
  if (X == Y || N <= 0) return;
  // Large copies (whole activations) in one block per thread.
  ParallelRanges(N, 1 << 18, [&](int, int64_t lo, int64_t hi) {
    std::memcpy(Y + lo, X + lo, sizeof(Dtype) * (hi - lo));
  });
}

template <typename Dtype>
void caffe_set(int N, Dtype alpha, Dtype* X) {
  if (alpha == 0) {
    std::memset(X, 0, sizeof(Dtype) * N);
    return;
  }
  ParallelForElements(N, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      X[i] = alpha;
    }
  });
}

template <typename Dtype>
void caffe_add_scalar(int N, Dtype alpha, Dtype* X) {
  ParallelForElements(N, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      X[i] += alpha;
    }
  });
}

template <>
void caffe_scal<float>(int N, float alpha, float* X) {
  cblas_sscal(N, alpha, X, 1);
}
template <>
void caffe_scal<double>(int N, double alpha, double* X) {
  cblas_dscal(N, alpha, X, 1);
}

template <typename Dtype>
void caffe_cpu_scale(int n, Dtype alpha, const Dtype* x, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = alpha * x[i];
    }
  });
}

template <typename Dtype>
void caffe_sqr(int n, const Dtype* a, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = a[i] * a[i];
    }
  });
}
template <typename Dtype>
void caffe_sqrt(int n, const Dtype* a, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::sqrt(a[i]);
    }
  });
}
template <typename Dtype>
void caffe_add(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = a[i] + b[i];
    }
  });
}
template <typename Dtype>
void caffe_sub(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = a[i] - b[i];
    }
  });
}
template <typename Dtype>
void caffe_mul(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = a[i] * b[i];
    }
  });
}
template <typename Dtype>
void caffe_div(int n, const Dtype* a, const Dtype* b, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = a[i] / b[i];
    }
  });
}
template <typename Dtype>
void caffe_powx(int n, const Dtype* a, Dtype b, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::pow(a[i], b);
    }
  });
}
template <typename Dtype>
void caffe_exp(int n, const Dtype* a, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::exp(a[i]);
    }
  });
}
template <typename Dtype>
void caffe_log(int n, const Dtype* a, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::log(a[i]);
    }
  });
}
template <typename Dtype>
void caffe_abs(int n, const Dtype* a, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::fabs(a[i]);
    }
  });
}
template <typename Dtype>
void caffe_cpu_sign(int n, const Dtype* x, Dtype* y) {
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = static_cast<Dtype>((Dtype(0) < x[i]) - (x[i] < Dtype(0)));
    }
  });
}

template <>
float caffe_cpu_strided_dot<float>(int n, const float* x, int incx, const float* y, int incy) {
  return cblas_sdot(n, x, incx, y, incy);
}
template <>
double caffe_cpu_strided_dot<double>(int n, const double* x, int incx, const double* y, int incy) {
  return cblas_ddot(n, x, incx, y, incy);
}
template <typename Dtype>
Dtype caffe_cpu_dot(int n, const Dtype* x, const Dtype* y) {
  return caffe_cpu_strided_dot(n, x, 1, y, 1);
}
template <>
float caffe_cpu_asum<float>(int n, const float* x) {
  return cblas_sasum(n, x, 1);
}
template <>
double caffe_cpu_asum<double>(int n, const double* x) {
  return cblas_dasum(n, x, 1);
}

template <typename Dtype>
void caffe_rng_uniform(int n, Dtype a, Dtype b, Dtype* r) {
  CHECK_GE(n, 0);
  CHECK_LE(a, b);
  // Caffe draws from [a, nextafter(b)) so that b itself can occur.
  std::uniform_real_distribution<Dtype> dist(a,
                                             std::nextafter(b, std::numeric_limits<Dtype>::max()));
  auto& gen = ThreadRng();
  for (int i = 0; i < n; ++i) r[i] = dist(gen);
}
template <typename Dtype>
void caffe_rng_gaussian(int n, Dtype mu, Dtype sigma, Dtype* r) {
  CHECK_GE(n, 0);
  CHECK_GT(sigma, 0);
  std::normal_distribution<Dtype> dist(mu, sigma);
  auto& gen = ThreadRng();
  for (int i = 0; i < n; ++i) r[i] = dist(gen);
}
template <typename Dtype>
void caffe_rng_bernoulli(int n, Dtype p, int* r) {
  CHECK_GE(p, 0);
  CHECK_LE(p, 1);
  std::bernoulli_distribution dist(p);
  auto& gen = ThreadRng();
  for (int i = 0; i < n; ++i) r[i] = dist(gen) ? 1 : 0;
}
template <typename Dtype>
void caffe_rng_bernoulli(int n, Dtype p, unsigned int* r) {
  CHECK_GE(p, 0);
  CHECK_LE(p, 1);
  std::bernoulli_distribution dist(p);
  auto& gen = ThreadRng();
  for (int i = 0; i < n; ++i) r[i] = dist(gen) ? 1u : 0u;
}

#define INSTANTIATE_MATH(Dtype)                                                  \
  template void caffe_cpu_axpby<Dtype>(int, Dtype, const Dtype*, Dtype, Dtype*); \
  template void caffe_copy<Dtype>(int, const Dtype*, Dtype*);                    \
  template void caffe_set<Dtype>(int, Dtype, Dtype*);                            \
  template void caffe_add_scalar<Dtype>(int, Dtype, Dtype*);                     \
  template void caffe_cpu_scale<Dtype>(int, Dtype, const Dtype*, Dtype*);        \
  template void caffe_sqr<Dtype>(int, const Dtype*, Dtype*);                     \
  template void caffe_sqrt<Dtype>(int, const Dtype*, Dtype*);                    \
  template void caffe_add<Dtype>(int, const Dtype*, const Dtype*, Dtype*);       \
  template void caffe_sub<Dtype>(int, const Dtype*, const Dtype*, Dtype*);       \
  template void caffe_mul<Dtype>(int, const Dtype*, const Dtype*, Dtype*);       \
  template void caffe_div<Dtype>(int, const Dtype*, const Dtype*, Dtype*);       \
  template void caffe_powx<Dtype>(int, const Dtype*, Dtype, Dtype*);             \
  template void caffe_exp<Dtype>(int, const Dtype*, Dtype*);                     \
  template void caffe_log<Dtype>(int, const Dtype*, Dtype*);                     \
  template void caffe_abs<Dtype>(int, const Dtype*, Dtype*);                     \
  template void caffe_cpu_sign<Dtype>(int, const Dtype*, Dtype*);                \
  template Dtype caffe_cpu_dot<Dtype>(int, const Dtype*, const Dtype*);          \
  template void caffe_rng_uniform<Dtype>(int, Dtype, Dtype, Dtype*);             \
  template void caffe_rng_gaussian<Dtype>(int, Dtype, Dtype, Dtype*);            \
  template void caffe_rng_bernoulli<Dtype>(int, Dtype, int*);                    \
  template void caffe_rng_bernoulli<Dtype>(int, Dtype, unsigned int*);

INSTANTIATE_MATH(float)
INSTANTIATE_MATH(double)

}  // namespace deepspark
