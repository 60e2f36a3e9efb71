// Dropout's GPU path. The mask is drawn on the device: each forward in TRAIN
// takes a fresh 64-bit seed from the calling thread's generator (rng.hpp, so
// a seeded run repeats its masks), and element i's 32 random bits are a pure
// function of (seed, i): the i+1-th output of a splitmix64 generator started
// at the seed (a counter-based draw, no per-thread state, no library).
//
// The GPU's masks therefore differ from the CPU path's for the same seed,
// as in Caffe, whose GPU path draws with cuRAND; both keep each value with
// probability 1 - dropout_ratio. The mask stays on the device in mask_,
// where the backward pass (or a CPU backward, through SyncedMemory) finds it.
#include <cstdint>

#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/dropout_layer.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace {

// splitmix64 (Steele, Lea and Flood, 2014): advance the state by the golden
// gamma index + 1 times, then mix; the high 32 bits of the mix.
__device__ uint32_t RandomBits(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 32);
}

// Keeps value i when its bits are >= threshold (= ratio * 2^32): with
// probability 1 - ratio, to within 2^-32. y may be x (in place).
template <typename Dtype>
__global__ void DropoutForwardKernel(int n, const Dtype* x, uint64_t seed, uint32_t threshold,
                                     Dtype scale, unsigned int* mask, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const unsigned int keep = RandomBits(seed, static_cast<uint64_t>(i)) >= threshold ? 1u : 0u;
    mask[i] = keep;
    y[i] = x[i] * static_cast<Dtype>(keep) * scale;  // the CPU's x * mask * scale
  }
}

template <typename Dtype>
__global__ void DropoutBackwardKernel(int n, const Dtype* top_diff, const unsigned int* mask,
                                      Dtype scale, Dtype* bottom_diff) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    bottom_diff[i] = top_diff[i] * static_cast<Dtype>(mask[i]) * scale;
  }
}

}  // namespace

template <typename Dtype>
void DropoutLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  if (count == 0) return;
  const Dtype* x = bottom[0]->gpu_data();
  Dtype* y = top[0]->mutable_gpu_data();
  if (this->phase_ == caffe::TRAIN) {
    // Two 32-bit draws, in a fixed order, make the 64-bit seed.
    RngEngine& rng = ThreadRng();
    const uint64_t high = rng();
    const uint64_t seed = (high << 32) | static_cast<uint64_t>(rng());
    // threshold_ is in [0, 1) (LayerSetUp), so the product is below 2^32.
    const uint32_t threshold =
        static_cast<uint32_t>(static_cast<double>(threshold_) * 4294967296.0);
    DropoutForwardKernel<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, x, seed, threshold, scale_, static_cast<unsigned int*>(mask_->mutable_gpu_data()),
        y);
    RequireKernelLaunched("Dropout forward kernel");
  } else if (x != y) {
    caffe_gpu_copy(count, x, y);
  }
}

template <typename Dtype>
void DropoutLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  const Dtype* top_diff = top[0]->gpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_gpu_diff();
  if (this->phase_ == caffe::TRAIN) {
    DropoutBackwardKernel<Dtype><<<CudaBlocks(count), kCudaThreads>>>(
        count, top_diff, static_cast<const unsigned int*>(mask_->gpu_data()), scale_, bottom_diff);
    RequireKernelLaunched("Dropout backward kernel");
  } else if (top_diff != bottom_diff) {
    caffe_gpu_copy(count, top_diff, bottom_diff);
  }
}

DS_INSTANTIATE_GPU_PATHS(DropoutLayer);

}  // namespace deepspark
