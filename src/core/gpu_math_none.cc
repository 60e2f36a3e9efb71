// caffe_gpu_* and the solvers' GPU updates of a build without the CUDA
// backend: each says there is no GPU (src/core/cuda/gpu_math.cu and
// solver_updates.cu have the real ones).
#ifndef DEEPSPARK_WITH_CUDA
#include <string>

#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/gpu_solver_updates.hpp"

namespace deepspark {
namespace {
[[noreturn]] void NoGpu(const char* what = "GPU math") {
  std::string why;
  Gpu().DeviceCount(&why);
  throw Error(std::string(what) + ": " + why);
}
}  // namespace

void LoadGpuMathLibraries() { NoGpu(); }

template <typename Dtype>
void caffe_gpu_gemm(CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, int, int, int, Dtype, const Dtype*,
                    const Dtype*, Dtype, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_gemv(CBLAS_TRANSPOSE, int, int, Dtype, const Dtype*, const Dtype*, Dtype, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_axpy(int, Dtype, const Dtype*, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_scal(int, Dtype, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_set(int, Dtype, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_axpby(int, Dtype, const Dtype*, Dtype, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_copy(int, const Dtype*, Dtype*) {
  NoGpu();
}
template <typename Dtype>
void caffe_gpu_sign(int, const Dtype*, Dtype*) {
  NoGpu();
}
template <typename Dtype>
Dtype caffe_gpu_dot(int, const Dtype*, const Dtype*) {
  NoGpu();
}
template <typename Dtype>
Dtype caffe_gpu_asum(int, const Dtype*) {
  NoGpu();
}

#define DS_INSTANTIATE_GPU_MATH(T)                                                              \
  template void caffe_gpu_gemm<T>(CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, int, int, int, T, const T*, \
                                  const T*, T, T*);                                             \
  template void caffe_gpu_gemv<T>(CBLAS_TRANSPOSE, int, int, T, const T*, const T*, T, T*);     \
  template void caffe_gpu_axpy<T>(int, T, const T*, T*);                                        \
  template void caffe_gpu_scal<T>(int, T, T*);                                                  \
  template void caffe_gpu_set<T>(int, T, T*);                                                   \
  template void caffe_gpu_axpby<T>(int, T, const T*, T, T*);                                    \
  template void caffe_gpu_copy<T>(int, const T*, T*);                                           \
  template void caffe_gpu_sign<T>(int, const T*, T*);                                           \
  template T caffe_gpu_dot<T>(int, const T*, const T*);                                         \
  template T caffe_gpu_asum<T>(int, const T*)
DS_INSTANTIATE_GPU_MATH(float);
DS_INSTANTIATE_GPU_MATH(double);

// The solvers' updates (gpu_solver_updates.hpp).
template <typename Dtype>
void NesterovUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype) {
  NoGpu("GPU solver update");
}
template <typename Dtype>
void AdaGradUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype) {
  NoGpu("GPU solver update");
}
template <typename Dtype>
void RMSPropUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype, Dtype) {
  NoGpu("GPU solver update");
}
template <typename Dtype>
void AdaDeltaUpdateGpu(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype) {
  NoGpu("GPU solver update");
}
template <typename Dtype>
void AdamUpdateGpu(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype, Dtype) {
  NoGpu("GPU solver update");
}

#define DS_INSTANTIATE_SOLVER_UPDATES(T)                        \
  template void NesterovUpdateGpu<T>(int, T*, T*, T, T);        \
  template void AdaGradUpdateGpu<T>(int, T*, T*, T, T);         \
  template void RMSPropUpdateGpu<T>(int, T*, T*, T, T, T);      \
  template void AdaDeltaUpdateGpu<T>(int, T*, T*, T*, T, T, T); \
  template void AdamUpdateGpu<T>(int, T*, T*, T*, T, T, T, T)
DS_INSTANTIATE_SOLVER_UPDATES(float);
DS_INSTANTIATE_SOLVER_UPDATES(double);

}  // namespace deepspark
#endif  // DEEPSPARK_WITH_CUDA
