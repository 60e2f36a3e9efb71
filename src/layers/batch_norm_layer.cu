// BatchNorm's GPU path: batch_norm_layer.cc's steps as kernels. The
// per-channel statistics live in stats_gpu_ (5 x C, rows below) on the
// device; the batch's mean and variance are summed in double per channel,
// two passes as on the CPU, one block per channel.
#include "../core/cuda/channel_sums.cuh"
#include "deepspark/layers/batch_norm_layer.hpp"

namespace deepspark {
namespace {

// Rows of stats_gpu_ (each C values).
constexpr int kMean = 0, kVar = 1, kInvStd = 2, kMeanDy = 3, kMeanDyY = 4;

// var += eps and inv_std = 1 / sqrt(var), as AddEpsilon.
template <typename Dtype>
__device__ void AddEpsilon(Dtype eps, Dtype* var, Dtype* inv_std) {
  *var += eps;
  *inv_std = Dtype(1) / sqrt(*var);
}

// One block per channel: the batch's mean and biased variance over
// num x spatial values (x is num x C x spatial), the running sums updated
// as ComputeStatistics does, then AddEpsilon. Block 0 also updates the
// scale factor (blob 2).
template <typename Dtype>
__global__ void BatchStatistics(int num, int channels, int spatial, const Dtype* x, Dtype maf,
                                Dtype bias_correction, Dtype eps, Dtype* mean_sum, Dtype* var_sum,
                                Dtype* factor, Dtype* mean, Dtype* var, Dtype* inv_std) {
  __shared__ double shared[kCudaThreads];
  const int c = blockIdx.x;
  const long long m = static_cast<long long>(num) * spatial;
  double sum = 0;
  for (long long j = threadIdx.x; j < m; j += blockDim.x) {
    sum += x[ChannelOffset(j, c, channels, spatial)];
  }
  const double mu = BlockSum(sum, shared) / m;
  double sq = 0;
  for (long long j = threadIdx.x; j < m; j += blockDim.x) {
    const double d = x[ChannelOffset(j, c, channels, spatial)] - mu;
    sq += d * d;
  }
  const double variance = BlockSum(sq, shared) / m;
  if (threadIdx.x != 0) return;
  mean[c] = static_cast<Dtype>(mu);
  var[c] = static_cast<Dtype>(variance);
  mean_sum[c] = mean[c] + maf * mean_sum[c];
  var_sum[c] = bias_correction * var[c] + maf * var_sum[c];
  if (c == 0) factor[0] = factor[0] * maf + 1;
  AddEpsilon(eps, &var[c], &inv_std[c]);
}

// One thread per channel: the running statistics (sums over their weight
// in blob 2, a weight of 0 giving 0), then AddEpsilon.
template <typename Dtype>
__global__ void GlobalStatistics(int channels, const Dtype* mean_sum, const Dtype* var_sum,
                                 const Dtype* factor, Dtype eps, Dtype* mean, Dtype* var,
                                 Dtype* inv_std) {
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < channels; c += blockDim.x * gridDim.x) {
    const Dtype f = factor[0];
    const Dtype scale = f == 0 ? Dtype(0) : Dtype(1) / f;
    mean[c] = scale * mean_sum[c];
    var[c] = scale * var_sum[c];
    AddEpsilon(eps, &var[c], &inv_std[c]);
  }
}

// x_norm = y = (x - mean[c]) * inv_std[c]; x, y: (num, C, spatial), y may
// alias x.
template <typename Dtype>
__global__ void Normalize(int n, int channels, int spatial, const Dtype* x, const Dtype* mean,
                          const Dtype* inv_std, Dtype* x_norm, Dtype* y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int c = (i / spatial) % channels;
    x_norm[i] = (x[i] - mean[c]) * inv_std[c];
    y[i] = x_norm[i];
  }
}

// Global statistics: dx = dy * inv_std[c] (dx may alias dy).
template <typename Dtype>
__global__ void ScaleByInvStd(int n, int channels, int spatial, const Dtype* dy,
                              const Dtype* inv_std, Dtype* dx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    dx[i] = dy[i] * inv_std[(i / spatial) % channels];
  }
}

// Batch statistics: dx = (dy - mean(dy) - mean(dy * y) * y) * inv_std, the
// means per channel (dx may alias dy).
template <typename Dtype>
__global__ void BatchNormBackward(int n, int channels, int spatial, const Dtype* dy, const Dtype* y,
                                  const Dtype* mean_dy, const Dtype* mean_dy_y,
                                  const Dtype* inv_std, Dtype* dx) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int c = (i / spatial) % channels;
    dx[i] = (dy[i] - mean_dy[c] - mean_dy_y[c] * y[i]) * inv_std[c];
  }
}

}  // namespace

template <typename Dtype>
void BatchNormLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  // An empty batch: no statistics, the running ones unchanged (as the CPU).
  const int count = bottom[0]->count();
  if (count == 0) return;
  const int num = bottom[0]->shape(0);
  const int spatial = count / (num * channels_);
  Dtype* stats = stats_gpu_.mutable_gpu_data();
  Dtype* mean = stats + kMean * channels_;
  Dtype* var = stats + kVar * channels_;
  Dtype* inv_std = stats + kInvStd * channels_;
  const Dtype* x = bottom[0]->gpu_data();
  if (use_global_stats_) {
    GlobalStatistics<Dtype><<<CudaBlocks(channels_), kCudaThreads>>>(
        channels_, this->blobs_[0]->gpu_data(), this->blobs_[1]->gpu_data(),
        this->blobs_[2]->gpu_data(), eps_, mean, var, inv_std);
    RequireKernelLaunched("BatchNorm global statistics kernel");
  } else {
    const int m = num * spatial;
    const Dtype bias_correction = m > 1 ? Dtype(m) / Dtype(m - 1) : Dtype(1);
    BatchStatistics<Dtype><<<channels_, kCudaThreads>>>(
        num, channels_, spatial, x, moving_average_fraction_, bias_correction, eps_,
        this->blobs_[0]->mutable_gpu_data(), this->blobs_[1]->mutable_gpu_data(),
        this->blobs_[2]->mutable_gpu_data(), mean, var, inv_std);
    RequireKernelLaunched("BatchNorm batch statistics kernel");
  }
  // In place, top's data is x: each element is read before it is written.
  Normalize<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, channels_, spatial, x, mean, inv_std,
                                                        x_norm_.mutable_gpu_data(),
                                                        top[0]->mutable_gpu_data());
  RequireKernelLaunched("BatchNorm normalize kernel");
}

template <typename Dtype>
void BatchNormLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  const int num = bottom[0]->shape(0);
  const int spatial = count / (num * channels_);
  Dtype* stats = stats_gpu_.mutable_gpu_data();
  const Dtype* inv_std = stats + kInvStd * channels_;
  const Dtype* dy = top[0]->gpu_diff();
  Dtype* dx = bottom[0]->mutable_gpu_diff();  // may alias dy
  if (use_global_stats_) {
    ScaleByInvStd<Dtype>
        <<<CudaBlocks(count), kCudaThreads>>>(count, channels_, spatial, dy, inv_std, dx);
    RequireKernelLaunched("BatchNorm global-statistics backward kernel");
    return;
  }
  const Dtype* y = x_norm_.gpu_data();
  Dtype* mean_dy = stats + kMeanDy * channels_;
  Dtype* mean_dy_y = stats + kMeanDyY * channels_;
  // The CPU divides the double sums by m as a Dtype.
  const double m = static_cast<double>(static_cast<Dtype>(num * spatial));
  ChannelSumsGpu<Dtype>(num, channels_, spatial, dy, nullptr, m, false, mean_dy);
  ChannelSumsGpu<Dtype>(num, channels_, spatial, dy, y, m, false, mean_dy_y);
  BatchNormBackward<Dtype><<<CudaBlocks(count), kCudaThreads>>>(count, channels_, spatial, dy, y,
                                                                mean_dy, mean_dy_y, inv_std, dx);
  RequireKernelLaunched("BatchNorm backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(BatchNormLayer);

}  // namespace deepspark
