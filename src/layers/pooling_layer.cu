// Pooling's GPU path for MAX and AVE (STOCHASTIC runs its CPU code): one
// thread per output in the forward, one per input in the backward, which
// gathers the outputs that read it in the order the CPU path adds them
// (pooling_layer.cc), so both give the same sums.
#include <cfloat>

#include "../core/cuda/kernel_launch.hpp"
#include "deepspark/layers/pooling_layer.hpp"

namespace deepspark {
namespace {

struct Geometry {
  int height, width, pooled_height, pooled_width, kernel_h, kernel_w, stride_h, stride_w, pad_h,
      pad_w;
};

template <typename Dtype>
__global__ void MaxPoolForward(int n, const Dtype* bottom, Geometry g, Dtype* top, Dtype* mask) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int pw = index % g.pooled_width;
    const int ph = (index / g.pooled_width) % g.pooled_height;
    const int plane = index / (g.pooled_width * g.pooled_height);
    const int hstart = max(ph * g.stride_h - g.pad_h, 0);
    const int hend = min(ph * g.stride_h - g.pad_h + g.kernel_h, g.height);
    const int wstart = max(pw * g.stride_w - g.pad_w, 0);
    const int wend = min(pw * g.stride_w - g.pad_w + g.kernel_w, g.width);
    const Dtype* data = bottom + static_cast<size_t>(plane) * g.height * g.width;
    Dtype best = Dtype(-FLT_MAX);
    int best_index = -1;
    for (int h = hstart; h < hend; ++h) {
      for (int w = wstart; w < wend; ++w) {
        if (data[h * g.width + w] > best) {
          best = data[h * g.width + w];
          best_index = h * g.width + w;
        }
      }
    }
    top[index] = best;
    mask[index] = static_cast<Dtype>(best_index);
  }
}

// The AVE window of output (ph, pw) clipped to the image, and the padded
// window's size it divides by (PoolingLayer::AveWindowAt).
__device__ void AveWindow(const Geometry& g, int ph, int pw, int* hstart, int* hend, int* wstart,
                          int* wend, int* pool_size) {
  *hstart = ph * g.stride_h - g.pad_h;
  *wstart = pw * g.stride_w - g.pad_w;
  *hend = min(*hstart + g.kernel_h, g.height + g.pad_h);
  *wend = min(*wstart + g.kernel_w, g.width + g.pad_w);
  *pool_size = (*hend - *hstart) * (*wend - *wstart);
  *hstart = max(*hstart, 0);
  *wstart = max(*wstart, 0);
  *hend = min(*hend, g.height);
  *wend = min(*wend, g.width);
}

template <typename Dtype>
__global__ void AvePoolForward(int n, const Dtype* bottom, Geometry g, Dtype* top) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const int pw = index % g.pooled_width;
    const int ph = (index / g.pooled_width) % g.pooled_height;
    const int plane = index / (g.pooled_width * g.pooled_height);
    int hstart, hend, wstart, wend, pool_size;
    AveWindow(g, ph, pw, &hstart, &hend, &wstart, &wend, &pool_size);
    const Dtype* data = bottom + static_cast<size_t>(plane) * g.height * g.width;
    Dtype sum = 0;
    for (int h = hstart; h < hend; ++h) {
      for (int w = wstart; w < wend; ++w) sum += data[h * g.width + w];
    }
    top[index] = (hstart >= hend || wstart >= wend) ? Dtype(0) : sum / pool_size;
  }
}

// Input value `index`: its plane, row and column, and the outputs whose
// windows may hold it (rows [phstart, phend), columns [pwstart, pwend)).
struct InputSite {
  int plane, h, w, phstart, phend, pwstart, pwend;
};

__device__ InputSite SiteOf(int index, const Geometry& g) {
  InputSite s;
  s.w = index % g.width;
  s.h = (index / g.width) % g.height;
  s.plane = index / (g.width * g.height);
  s.phstart = (s.h + g.pad_h < g.kernel_h) ? 0 : (s.h + g.pad_h - g.kernel_h) / g.stride_h + 1;
  s.phend = min((s.h + g.pad_h) / g.stride_h + 1, g.pooled_height);
  s.pwstart = (s.w + g.pad_w < g.kernel_w) ? 0 : (s.w + g.pad_w - g.kernel_w) / g.stride_w + 1;
  s.pwend = min((s.w + g.pad_w) / g.stride_w + 1, g.pooled_width);
  return s;
}

template <typename Dtype>
__global__ void MaxPoolBackward(int n, const Dtype* top_diff, const Dtype* mask, Geometry g,
                                Dtype* bottom_diff) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const InputSite s = SiteOf(index, g);
    const size_t offset = static_cast<size_t>(s.plane) * g.pooled_height * g.pooled_width;
    const Dtype self = static_cast<Dtype>(s.h * g.width + s.w);
    Dtype gradient = 0;
    for (int ph = s.phstart; ph < s.phend; ++ph) {
      for (int pw = s.pwstart; pw < s.pwend; ++pw) {
        const size_t o = offset + ph * g.pooled_width + pw;
        if (mask[o] == self) gradient += top_diff[o];
      }
    }
    bottom_diff[index] = gradient;
  }
}

template <typename Dtype>
__global__ void AvePoolBackward(int n, const Dtype* top_diff, Geometry g, Dtype* bottom_diff) {
  for (int index = blockIdx.x * blockDim.x + threadIdx.x; index < n;
       index += blockDim.x * gridDim.x) {
    const InputSite s = SiteOf(index, g);
    const size_t offset = static_cast<size_t>(s.plane) * g.pooled_height * g.pooled_width;
    Dtype gradient = 0;
    for (int ph = s.phstart; ph < s.phend; ++ph) {
      for (int pw = s.pwstart; pw < s.pwend; ++pw) {
        int hstart, hend, wstart, wend, pool_size;
        AveWindow(g, ph, pw, &hstart, &hend, &wstart, &wend, &pool_size);
        if (s.h < hstart || s.h >= hend || s.w < wstart || s.w >= wend) continue;
        gradient += top_diff[offset + ph * g.pooled_width + pw] / pool_size;
      }
    }
    bottom_diff[index] = gradient;
  }
}

}  // namespace

template <typename Dtype>
void PoolingLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const auto method = this->layer_param_.pooling_param().pool();
  if (method != caffe::PoolingParameter::MAX && method != caffe::PoolingParameter::AVE) {
    return Forward_cpu(bottom, top);
  }
  const Geometry g{height_,   width_,    pooled_height_, pooled_width_, kernel_h_,
                   kernel_w_, stride_h_, stride_w_,      pad_h_,        pad_w_};
  const int n = top[0]->count();
  if (n == 0) return;
  if (method == caffe::PoolingParameter::MAX) {
    // The argmax goes to the mask top if there is one, else to a device
    // buffer the backward reads.
    Dtype* mask;
    if (top.size() > 1) {
      mask = top[1]->mutable_gpu_data();
    } else {
      gpu_mask_.ReshapeLike(*top[0]);
      mask = gpu_mask_.mutable_gpu_data();
    }
    MaxPoolForward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, bottom[0]->gpu_data(), g,
                                                           top[0]->mutable_gpu_data(), mask);
  } else {
    AvePoolForward<Dtype>
        <<<CudaBlocks(n), kCudaThreads>>>(n, bottom[0]->gpu_data(), g, top[0]->mutable_gpu_data());
  }
  RequireKernelLaunched("pooling forward kernel");
}

template <typename Dtype>
void PoolingLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const auto method = this->layer_param_.pooling_param().pool();
  if (method != caffe::PoolingParameter::MAX && method != caffe::PoolingParameter::AVE) {
    return Backward_cpu(top, propagate_down, bottom);
  }
  const Geometry g{height_,   width_,    pooled_height_, pooled_width_, kernel_h_,
                   kernel_w_, stride_h_, stride_w_,      pad_h_,        pad_w_};
  const int n = bottom[0]->count();
  if (n == 0) return;
  if (method == caffe::PoolingParameter::MAX) {
    const Dtype* mask = top.size() > 1 ? top[1]->gpu_data() : gpu_mask_.gpu_data();
    MaxPoolBackward<Dtype><<<CudaBlocks(n), kCudaThreads>>>(n, top[0]->gpu_diff(), mask, g,
                                                            bottom[0]->mutable_gpu_diff());
  } else {
    AvePoolBackward<Dtype>
        <<<CudaBlocks(n), kCudaThreads>>>(n, top[0]->gpu_diff(), g, bottom[0]->mutable_gpu_diff());
  }
  RequireKernelLaunched("pooling backward kernel");
}

DS_INSTANTIATE_GPU_PATHS(PoolingLayer);

}  // namespace deepspark
