// Log's GPU path: log_layer.cc's element-wise formulas as kernels
// (y = base_scale * ln(shift + scale * x), each step in the CPU's order; dx = dy *
// backward_num_scale / (shift + scale * x)).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/log_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void LogForward(int n, const Dtype* x, Dtype* y, Dtype in_scale, Dtype in_shift,
                           Dtype base_scale) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype v = x[i];
    if (in_scale != Dtype(1)) v *= in_scale;
    if (in_shift != Dtype(0)) v += in_shift;
    v = log(v);
    if (base_scale != Dtype(1)) v *= base_scale;
    y[i] = v;
  }
}

template <typename Dtype>
__global__ void LogBackward(int n, const Dtype* top_diff, const Dtype* x, const Dtype* y,
                            Dtype in_scale, Dtype in_shift, Dtype num_scale, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    Dtype v = x[i];
    if (in_scale != Dtype(1)) v *= in_scale;
    if (in_shift != Dtype(0)) v += in_shift;
    v = pow(v, Dtype(-1));
    if (num_scale != Dtype(1)) v *= num_scale;
    bottom_diff[i] = top_diff[i] * v;
  }
}

}  // namespace

template <typename Dtype>
void LogLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  LogForward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, bottom[0]->gpu_data(),
                                                         top[0]->mutable_gpu_data(), input_scale_,
                                                         input_shift_, base_scale_);
  RequireKernelLaunched("Log forward kernel");
}

template <typename Dtype>
void LogLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  LogBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
      count, top[0]->gpu_diff(), bottom[0]->gpu_data(), nullptr, input_scale_, input_shift_,
      backward_num_scale_, bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Log backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(LogLayer);

}  // namespace deepspark
