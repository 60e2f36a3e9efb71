// ChannelSumsGpu (channel_sums.cuh): one block per channel, each thread
// summing a strided share of the channel's outer * inner values in double,
// then a tree sum over the block.
#include "channel_sums.cuh"

namespace deepspark {
namespace {

template <typename Dtype>
__global__ void ChannelSums(int outer, int channels, int inner, const Dtype* a, const Dtype* b,
                            double divisor, bool accumulate, Dtype* out) {
  __shared__ double shared[kCudaThreads];
  const int c = blockIdx.x;
  const long long per_channel = static_cast<long long>(outer) * inner;
  double sum = 0;
  for (long long j = threadIdx.x; j < per_channel; j += blockDim.x) {
    const size_t k = ChannelOffset(j, c, channels, inner);
    sum += b ? static_cast<double>(a[k] * b[k]) : static_cast<double>(a[k]);
  }
  sum = BlockSum(sum, shared);
  if (threadIdx.x == 0) {
    const Dtype value = static_cast<Dtype>(sum / divisor);
    out[c] = accumulate ? out[c] + value : value;
  }
}

}  // namespace

template <typename Dtype>
void ChannelSumsGpu(int outer, int channels, int inner, const Dtype* a, const Dtype* b,
                    double divisor, bool accumulate, Dtype* out) {
  if (channels <= 0) return;
  // One block per channel: the grid's x extent allows 2^31 - 1 blocks.
  ChannelSums<Dtype>
      <<<channels, kCudaThreads>>>(outer, channels, inner, a, b, divisor, accumulate, out);
  RequireKernelLaunched("per-channel sum kernel");
}

template void ChannelSumsGpu<float>(int, int, int, const float*, const float*, double, bool,
                                    float*);
template void ChannelSumsGpu<double>(int, int, int, const double*, const double*, double, bool,
                                     double*);

}  // namespace deepspark
