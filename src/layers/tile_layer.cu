// Tile's GPU path: one thread per top value copies its bottom value
// (forward); one thread per bottom value adds its tiles' gradients in the
// CPU path's order, tile 0 first (backward). Bottom (outer, inner), top
// (outer, tiles, inner).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/tile_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void TileForward(int n, int tiles, int inner, const Dtype* x, Dtype* y) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int i = index % inner;
    const int o = index / inner / tiles;
    y[index] = x[static_cast<size_t>(o) * inner + i];
  }
}

template <typename Dtype>
__global__ void TileBackward(int n, int tiles, int inner, const Dtype* dy, Dtype* dx) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int i = index % inner;
    const int o = index / inner;
    const Dtype* from = dy + static_cast<size_t>(o) * tiles * inner + i;
    Dtype sum = from[0];
    for (int t = 1; t < tiles; ++t) sum += from[static_cast<size_t>(t) * inner];
    dx[index] = sum;
  }
}

}  // namespace

template <typename Dtype>
void TileLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int n = top[0]->count();
  if (n == 0) return;
  TileForward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, tiles_, inner_dim_, bottom[0]->gpu_data(),
                                                      top[0]->mutable_gpu_data());
  RequireKernelLaunched("Tile forward kernel");
}

template <typename Dtype>
void TileLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const int n = bottom[0]->count();
  if (!propagate_down[0] || n == 0) return;
  TileBackward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, tiles_, inner_dim_, top[0]->gpu_diff(),
                                                       bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("Tile backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(TileLayer);

}  // namespace deepspark
