// The solvers' GPU updates of a build without the CUDA backend: each says
// there is no GPU (src/core/cuda/solver_updates.cu has the real ones).
#ifndef DEEPSPARK_WITH_CUDA
#include <string>

#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"

namespace deepspark {
namespace {
[[noreturn]] void NoGpu() {
  std::string why;
  Gpu().DeviceCount(&why);
  throw Error("GPU solver update: " + why);
}
}  // namespace

template <typename Dtype>
void NesterovUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype) {
  NoGpu();
}
template <typename Dtype>
void AdaGradUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype) {
  NoGpu();
}
template <typename Dtype>
void RMSPropUpdateGpu(int, Dtype*, Dtype*, Dtype, Dtype, Dtype) {
  NoGpu();
}
template <typename Dtype>
void AdaDeltaUpdateGpu(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype) {
  NoGpu();
}
template <typename Dtype>
void AdamUpdateGpu(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype, Dtype) {
  NoGpu();
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
