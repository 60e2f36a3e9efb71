// Power's GPU path: power_layer.cc's formulas as kernels, each step in the
// CPU's order (scale, shift, power) for the same rounding, and the same
// cheaper forms of dy/dx for power 2 and for shift 0.
#include <cmath>

#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/power_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void PowerForward(int n, const Dtype* x, Dtype power, Dtype scale, Dtype shift,
                             Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype v = x[i];
    if (scale != Dtype(1)) v *= scale;
    if (shift != Dtype(0)) v += shift;
    if (power != Dtype(1)) v = pow(v, power);
    y[i] = v;
  }
}

// form 0: dy/dx = diff_scale (constant); 1: power 2, diff_scale * scale * x
// + diff_scale * shift; 2: shift 0, power * y / x; 3: diff_scale * y /
// (shift + scale * x).
template <typename Dtype>
__global__ void PowerBackward(int n, int form, const Dtype* top_diff, const Dtype* x,
                              const Dtype* y, Dtype power, Dtype scale, Dtype shift,
                              Dtype diff_scale, Dtype* bottom_diff) {
  const Dtype diff_scale_times_scale = diff_scale * scale;
  const Dtype diff_scale_times_shift = diff_scale * shift;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype d;
    if (form == 0) {
      d = diff_scale;
    } else if (form == 1) {
      d = diff_scale_times_scale * x[i];
      if (shift != Dtype(0)) d += diff_scale_times_shift;
    } else if (form == 2) {
      d = y[i] / x[i];
      d *= power;
    } else {
      d = x[i];
      if (scale != Dtype(1)) d *= scale;
      if (shift != Dtype(0)) d += shift;
      d = y[i] / d;
      if (diff_scale != Dtype(1)) d *= diff_scale;
    }
    bottom_diff[i] = top_diff[i] * d;
  }
}

}  // namespace

template <typename Dtype>
void PowerLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  if (diff_scale_ == Dtype(0)) {  // y does not depend on x
    caffe_gpu_set(count, power_ == Dtype(0) ? Dtype(1) : Dtype(std::pow(shift_, power_)),
                  top[0]->mutable_gpu_data());
    return;
  }
  PowerForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, bottom[0]->gpu_data(), power_, scale_, shift_, top[0]->mutable_gpu_data());
  RequireKernelLaunched("Power forward kernel");
}

template <typename Dtype>
void PowerLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  int form = 3;
  if (diff_scale_ == Dtype(0) || power_ == Dtype(1)) {
    form = 0;
  } else if (power_ == Dtype(2)) {
    form = 1;
  } else if (shift_ == Dtype(0)) {
    form = 2;
  }
  // Only the forms that read x and y ask for them (no copy to the device
  // of what is not read).
  const Dtype* x = form == 0 ? nullptr : bottom[0]->gpu_data();
  const Dtype* y = form >= 2 ? top[0]->gpu_data() : nullptr;
  PowerBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, form, top[0]->gpu_diff(), x, y,
                                                            power_, scale_, shift_, diff_scale_,
                                                            bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Power backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(PowerLayer);

}  // namespace deepspark
