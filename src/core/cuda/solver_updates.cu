// The adaptive solvers' GPU updates (gpu_solver_updates.hpp): each kernel
// is the loop body of its solver's .cc, written in the same order.
#include "deepspark/gpu_solver_updates.hpp"
#include "kernel_launch.hpp"

namespace deepspark {
namespace {

// nesterov_solver.cc: v is axpby'd (rate * g + momentum * v), then the step
// is axpby'd from the new v and the old one.
template <typename Dtype>
__global__ void NesterovUpdate(int n, Dtype* g, Dtype* v, Dtype momentum, Dtype rate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const Dtype previous = v[i];
    v[i] = rate * g[i] + momentum * v[i];
    g[i] = (Dtype(1) + momentum) * v[i] + -momentum * previous;
  }
}

template <typename Dtype>
__global__ void AdaGradUpdate(int n, Dtype* g, Dtype* h, Dtype delta, Dtype rate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    h[i] += g[i] * g[i];
    g[i] = rate * (g[i] / (sqrt(h[i]) + delta));
  }
}

template <typename Dtype>
__global__ void RMSPropUpdate(int n, Dtype* g, Dtype* h, Dtype rms_decay, Dtype delta, Dtype rate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    h[i] = rms_decay * h[i] + (Dtype(1) - rms_decay) * g[i] * g[i];
    g[i] = rate * (g[i] / (sqrt(h[i]) + delta));
  }
}

template <typename Dtype>
__global__ void AdaDeltaUpdate(int n, Dtype* g, Dtype* hg, Dtype* hu, Dtype momentum, Dtype delta,
                               Dtype rate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    hg[i] = momentum * hg[i] + (Dtype(1) - momentum) * g[i] * g[i];
    const Dtype u = g[i] * sqrt((hu[i] + delta) / (hg[i] + delta));
    hu[i] = momentum * hu[i] + (Dtype(1) - momentum) * u * u;
    g[i] = rate * u;
  }
}

template <typename Dtype>
__global__ void AdamUpdate(int n, Dtype* g, Dtype* m, Dtype* v, Dtype beta1, Dtype beta2, Dtype eps,
                           Dtype rate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    m[i] = beta1 * m[i] + (Dtype(1) - beta1) * g[i];
    v[i] = beta2 * v[i] + (Dtype(1) - beta2) * g[i] * g[i];
    g[i] = rate * (m[i] / (sqrt(v[i]) + eps));
  }
}

}  // namespace

template <typename Dtype>
void NesterovUpdateGpu(int n, Dtype* g, Dtype* v, Dtype momentum, Dtype rate) {
  if (n <= 0) return;
  NesterovUpdate<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, g, v, momentum, rate);
  RequireKernelLaunched("Nesterov update kernel");
}

template <typename Dtype>
void AdaGradUpdateGpu(int n, Dtype* g, Dtype* h, Dtype delta, Dtype rate) {
  if (n <= 0) return;
  AdaGradUpdate<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, g, h, delta, rate);
  RequireKernelLaunched("AdaGrad update kernel");
}

template <typename Dtype>
void RMSPropUpdateGpu(int n, Dtype* g, Dtype* h, Dtype rms_decay, Dtype delta, Dtype rate) {
  if (n <= 0) return;
  RMSPropUpdate<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, g, h, rms_decay, delta, rate);
  RequireKernelLaunched("RMSProp update kernel");
}

template <typename Dtype>
void AdaDeltaUpdateGpu(int n, Dtype* g, Dtype* hg, Dtype* hu, Dtype momentum, Dtype delta,
                       Dtype rate) {
  if (n <= 0) return;
  AdaDeltaUpdate<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, g, hg, hu, momentum, delta, rate);
  RequireKernelLaunched("AdaDelta update kernel");
}

template <typename Dtype>
void AdamUpdateGpu(int n, Dtype* g, Dtype* m, Dtype* v, Dtype beta1, Dtype beta2, Dtype eps,
                   Dtype rate) {
  if (n <= 0) return;
  AdamUpdate<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, g, m, v, beta1, beta2, eps, rate);
  RequireKernelLaunched("Adam update kernel");
}

#define DS_INSTANTIATE_SOLVER_UPDATES(Dtype)                                                \
  template void NesterovUpdateGpu<Dtype>(int, Dtype*, Dtype*, Dtype, Dtype);                \
  template void AdaGradUpdateGpu<Dtype>(int, Dtype*, Dtype*, Dtype, Dtype);                 \
  template void RMSPropUpdateGpu<Dtype>(int, Dtype*, Dtype*, Dtype, Dtype, Dtype);          \
  template void AdaDeltaUpdateGpu<Dtype>(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype); \
  template void AdamUpdateGpu<Dtype>(int, Dtype*, Dtype*, Dtype*, Dtype, Dtype, Dtype, Dtype)
DS_INSTANTIATE_SOLVER_UPDATES(float);
DS_INSTANTIATE_SOLVER_UPDATES(double);

}  // namespace deepspark
