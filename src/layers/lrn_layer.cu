// LRN's GPU path for ACROSS_CHANNELS: one thread per (image, pixel) slides
// the window sum along the channels as lrn_layer.cc does (the same adds and
// subtracts in the same order; the zero padding is skipped, adding 0 being
// exact). WITHIN_CHANNEL has its own window sums in the .cc, not Caffe's
// internal split/pool/power/eltwise layers, and no GPU code: on the GPU path
// it runs the CPU code (the blobs are copied to the host and back).
#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/lrn_layer.hpp"

namespace deepspark {
namespace {

// s^-beta as the CPU's NegPow: two square roots for beta = 0.75.
template <typename Dtype>
__device__ Dtype NegPow(Dtype s, Dtype beta) {
  if (beta == Dtype(0.75)) {
    const Dtype r = sqrt(s);
    return Dtype(1) / (r * sqrt(r));
  }
  return pow(s, -beta);
}

// x, scale, scale_pow, y: (num, C, plane); n = num * plane threads. The
// window of channel c is [c - pre_pad, c + pre_pad]; the CPU's padded
// buffer index p holds channel p - pre_pad.
template <typename Dtype>
__global__ void LRNAcrossForward(int n, int channels, int plane, int size, int pre_pad,
                                 Dtype alpha_over_size, Dtype k, Dtype beta, const Dtype* x,
                                 Dtype* scale, Dtype* scale_pow, Dtype* y) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const size_t base =
        static_cast<size_t>(index / plane) * channels * plane + static_cast<size_t>(index % plane);
    // (alpha/n) x^2 of channel ch, in the CPU's order of products.
    auto sq = [&](int ch) {
      const Dtype v = x[base + static_cast<size_t>(ch) * plane];
      return alpha_over_size * v * v;
    };
    Dtype accum = k;
    for (int p = 0; p < size - 1; ++p) {
      const int ch = p - pre_pad;
      if (ch >= 0 && ch < channels) accum += sq(ch);
    }
    for (int c = 0; c < channels; ++c) {
      if (c + pre_pad < channels) accum += sq(c + pre_pad);
      if (c > 0 && c - 1 - pre_pad >= 0) accum -= sq(c - 1 - pre_pad);
      const size_t i = base + static_cast<size_t>(c) * plane;
      scale[i] = accum;
      scale_pow[i] = NegPow(accum, beta);
      y[i] = scale_pow[i] * x[i];
    }
  }
}

// dx = dy * scale^-beta - cache_ratio * x * (sum over the window of
// dy * y / scale); same layout and threads as the forward.
template <typename Dtype>
__global__ void LRNAcrossBackward(int n, int channels, int plane, int size, int pre_pad,
                                  Dtype cache_ratio, const Dtype* x, const Dtype* y,
                                  const Dtype* dy, const Dtype* scale, const Dtype* scale_pow,
                                  Dtype* dx) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const size_t base =
        static_cast<size_t>(index / plane) * channels * plane + static_cast<size_t>(index % plane);
    auto ratio = [&](int ch) {
      const size_t i = base + static_cast<size_t>(ch) * plane;
      return dy[i] * y[i] / scale[i];
    };
    Dtype accum = 0;
    for (int p = 0; p < size - 1; ++p) {
      const int ch = p - pre_pad;
      if (ch >= 0 && ch < channels) accum += ratio(ch);
    }
    for (int c = 0; c < channels; ++c) {
      if (c + pre_pad < channels) accum += ratio(c + pre_pad);
      const size_t i = base + static_cast<size_t>(c) * plane;
      Dtype d = dy[i] * scale_pow[i];
      d -= cache_ratio * x[i] * accum;
      dx[i] = d;
      if (c - pre_pad >= 0) accum -= ratio(c - pre_pad);
    }
  }
}

}  // namespace

template <typename Dtype>
void LRNLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  if (!across_channels_) {
    Forward_cpu(bottom, top);  // no GPU code for WITHIN_CHANNEL (see the top of this file)
    return;
  }
  const int n = num_ * height_ * width_;
  if (n == 0 || channels_ == 0) return;
  LRNAcrossForward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
      n, channels_, height_ * width_, size_, pre_pad_, alpha_ / size_, k_, beta_,
      bottom[0]->gpu_data(), scale_.mutable_gpu_data(), scale_pow_.mutable_gpu_data(),
      top[0]->mutable_gpu_data());
  RequireKernelLaunched("LRN across-channels forward kernel");
}

template <typename Dtype>
void LRNLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!across_channels_) {
    Backward_cpu(top, propagate_down, bottom);
    return;
  }
  const int n = num_ * height_ * width_;
  if (!propagate_down[0] || n == 0 || channels_ == 0) return;
  LRNAcrossBackward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(
      n, channels_, height_ * width_, size_, pre_pad_, Dtype(2) * alpha_ * beta_ / size_,
      bottom[0]->gpu_data(), top[0]->gpu_data(), top[0]->gpu_diff(), scale_.gpu_data(),
      scale_pow_.gpu_data(), bottom[0]->mutable_gpu_diff());
  RequireKernelLaunched("LRN across-channels backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(LRNLayer);

}  // namespace deepspark
