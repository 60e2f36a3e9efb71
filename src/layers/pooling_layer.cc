#include "deepspark/layers/pooling_layer.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "deepspark/parallel.hpp"

namespace deepspark {

using caffe::PoolingParameter;

template <typename Dtype>
void PoolingLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  const PoolingParameter& p = this->layer_param_.pooling_param();
  REQUIRE(bottom[0]->num_axes() == 4)
      << "Pooling needs a 4-D bottom (N, C, H, W), got " << bottom[0]->shape_string();
  global_pooling_ = p.global_pooling();
  if (global_pooling_) {
    REQUIRE(!(p.has_kernel_size() || p.has_kernel_h() || p.has_kernel_w()))
        << "With global_pooling: true the filter size cannot be specified";
  } else {
    REQUIRE(p.has_kernel_size() != (p.has_kernel_h() && p.has_kernel_w()))
        << "Filter size is kernel_size OR kernel_h and kernel_w; not both";
    REQUIRE(p.has_kernel_size() || (p.has_kernel_h() && p.has_kernel_w()))
        << "For non-square filters both kernel_h and kernel_w are required";
  }
  REQUIRE((!p.has_pad() && p.has_pad_h() && p.has_pad_w()) || (!p.has_pad_h() && !p.has_pad_w()))
      << "pad is pad OR pad_h and pad_w are required";
  REQUIRE((!p.has_stride() && p.has_stride_h() && p.has_stride_w()) ||
          (!p.has_stride_h() && !p.has_stride_w()))
      << "Stride is stride OR stride_h and stride_w are required";
  if (global_pooling_) {
    kernel_h_ = bottom[0]->shape(2);
    kernel_w_ = bottom[0]->shape(3);
  } else if (p.has_kernel_size()) {
    kernel_h_ = kernel_w_ = static_cast<int>(p.kernel_size());
  } else {
    kernel_h_ = static_cast<int>(p.kernel_h());
    kernel_w_ = static_cast<int>(p.kernel_w());
  }
  REQUIRE(kernel_h_ > 0 && kernel_w_ > 0) << "filter dimensions cannot be zero";
  if (p.has_pad_h()) {
    pad_h_ = static_cast<int>(p.pad_h());
    pad_w_ = static_cast<int>(p.pad_w());
  } else {
    pad_h_ = pad_w_ = static_cast<int>(p.pad());
  }
  if (p.has_stride_h()) {
    stride_h_ = static_cast<int>(p.stride_h());
    stride_w_ = static_cast<int>(p.stride_w());
  } else {
    stride_h_ = stride_w_ = static_cast<int>(p.stride());
  }
  REQUIRE(stride_h_ > 0 && stride_w_ > 0) << "stride must be positive";
  if (global_pooling_) {
    REQUIRE(pad_h_ == 0 && pad_w_ == 0 && stride_h_ == 1 && stride_w_ == 1)
        << "With global_pooling: true only pad = 0 and stride = 1 are allowed";
  }
  if (pad_h_ != 0 || pad_w_ != 0) {
    REQUIRE(p.pool() == PoolingParameter::AVE || p.pool() == PoolingParameter::MAX)
        << "padding is implemented only for average and max pooling";
    REQUIRE(pad_h_ < kernel_h_ && pad_w_ < kernel_w_)
        << "pad (" << pad_h_ << ", " << pad_w_ << ") must be smaller than the kernel (" << kernel_h_
        << ", " << kernel_w_ << ")";
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() == 4)
      << "Pooling needs a 4-D bottom (N, C, H, W), got " << bottom[0]->shape_string();
  channels_ = bottom[0]->shape(1);
  height_ = bottom[0]->shape(2);
  width_ = bottom[0]->shape(3);
  if (global_pooling_) {
    kernel_h_ = height_;
    kernel_w_ = width_;
  }
  const bool ceil_mode = this->layer_param_.pooling_param().round_mode() == PoolingParameter::CEIL;
  auto pooled = [ceil_mode](int size, int pad, int kernel, int stride) {
    const double q = static_cast<double>(size + 2 * pad - kernel) / stride;
    int out = static_cast<int>(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
    // The last window must start inside the image (not in the padding).
    if (pad > 0 && (out - 1) * stride >= size + pad) --out;
    return out;
  };
  pooled_height_ = pooled(height_, pad_h_, kernel_h_, stride_h_);
  pooled_width_ = pooled(width_, pad_w_, kernel_w_, stride_w_);
  REQUIRE(pooled_height_ > 0 && pooled_width_ > 0)
      << "the pooling kernel (" << kernel_h_ << ", " << kernel_w_ << ") is larger than the padded "
      << "input " << bottom[0]->shape_string();
  const std::vector<int> top_shape{bottom[0]->shape(0), channels_, pooled_height_, pooled_width_};
  top[0]->Reshape(top_shape);
  if (top.size() > 1) top[1]->Reshape(top_shape);
  const PoolingParameter::PoolMethod method = this->layer_param_.pooling_param().pool();
  if ((method == PoolingParameter::MAX && top.size() == 1) ||
      method == PoolingParameter::STOCHASTIC) {
    index_.resize(top[0]->count());
  }
}

template <typename Dtype>
typename PoolingLayer<Dtype>::AveWindow PoolingLayer<Dtype>::AveWindowAt(int ph, int pw) const {
  AveWindow win;
  win.hstart = ph * stride_h_ - pad_h_;
  win.wstart = pw * stride_w_ - pad_w_;
  win.hend = std::min(win.hstart + kernel_h_, height_ + pad_h_);
  win.wend = std::min(win.wstart + kernel_w_, width_ + pad_w_);
  win.pool_size = (win.hend - win.hstart) * (win.wend - win.wstart);
  win.hstart = std::max(win.hstart, 0);
  win.wstart = std::max(win.wstart, 0);
  win.hend = std::min(win.hend, height_);
  win.wend = std::min(win.wend, width_);
  return win;
}

template <typename Dtype>
void PoolingLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->cpu_data();
  Dtype* top_data = top[0]->mutable_cpu_data();
  const int planes = bottom[0]->shape(0) * channels_;
  const int in_size = height_ * width_;
  const int out_size = pooled_height_ * pooled_width_;
  switch (this->layer_param_.pooling_param().pool()) {
    case PoolingParameter::MAX: {
      const bool use_top_mask = top.size() > 1;
      Dtype* top_mask = use_top_mask ? top[1]->mutable_cpu_data() : nullptr;
      int* mask = use_top_mask ? nullptr : index_.data();
      // Planes are independent: split them over the threads.
      ParallelFor(0, planes, 4, [&](int64_t plane) {
        const Dtype* plane_data = bottom_data + plane * in_size;
        Dtype* plane_top = top_data + plane * out_size;
        Dtype* plane_top_mask = use_top_mask ? top_mask + plane * out_size : nullptr;
        int* plane_mask = use_top_mask ? nullptr : mask + plane * out_size;
        for (int ph = 0; ph < pooled_height_; ++ph) {
          const int hstart = std::max(ph * stride_h_ - pad_h_, 0);
          const int hend = std::min(ph * stride_h_ - pad_h_ + kernel_h_, height_);
          for (int pw = 0; pw < pooled_width_; ++pw) {
            const int wstart = std::max(pw * stride_w_ - pad_w_, 0);
            const int wend = std::min(pw * stride_w_ - pad_w_ + kernel_w_, width_);
            Dtype best = Dtype(-FLT_MAX);
            int best_index = -1;
            for (int h = hstart; h < hend; ++h) {
              const Dtype* row = plane_data + h * width_;
              for (int w = wstart; w < wend; ++w) {
                // Select without branching: the comparison is unpredictable.
                const bool greater = row[w] > best;
                best = greater ? row[w] : best;
                best_index = greater ? h * width_ + w : best_index;
              }
            }
            const int out = ph * pooled_width_ + pw;
            plane_top[out] = best;
            if (use_top_mask) {
              plane_top_mask[out] = static_cast<Dtype>(best_index);
            } else {
              plane_mask[out] = best_index;
            }
          }
        }
      });
      break;
    }
    case PoolingParameter::AVE:
      ParallelFor(0, planes, 4, [&](int64_t plane) {
        const Dtype* plane_data = bottom_data + plane * in_size;
        Dtype* plane_top = top_data + plane * out_size;
        for (int ph = 0; ph < pooled_height_; ++ph) {
          for (int pw = 0; pw < pooled_width_; ++pw) {
            const AveWindow win = AveWindowAt(ph, pw);
            Dtype sum = 0;
            for (int h = win.hstart; h < win.hend; ++h) {
              for (int w = win.wstart; w < win.wend; ++w) sum += plane_data[h * width_ + w];
            }
            // An empty window (see Backward) would divide 0 by 0 (NaN in
            // Caffe); it outputs 0 instead.
            plane_top[ph * pooled_width_ + pw] = win.empty() ? 0 : sum / win.pool_size;
          }
        }
      });
      break;
    case PoolingParameter::STOCHASTIC:
      ForwardStochastic(bottom_data, top_data, this->phase_ == caffe::TRAIN);
      break;
    default:
      THROW_ERROR() << "unknown pooling method";
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::ForwardStochastic(const Dtype* bottom_data, Dtype* top_data, bool train) {
  sampled_ = train;
  const int planes = static_cast<int>(index_.size()) / (pooled_height_ * pooled_width_);
  std::vector<Dtype> rand;
  if (train) {
    rand.resize(index_.size());
    caffe_rng_uniform<Dtype>(static_cast<int>(rand.size()), Dtype(0), Dtype(1), rand.data());
  }
  int out = 0;
  for (int plane = 0; plane < planes; ++plane) {
    const Dtype* data = bottom_data + static_cast<size_t>(plane) * height_ * width_;
    for (int ph = 0; ph < pooled_height_; ++ph) {
      const int hstart = ph * stride_h_;
      const int hend = std::min(hstart + kernel_h_, height_);
      for (int pw = 0; pw < pooled_width_; ++pw, ++out) {
        const int wstart = pw * stride_w_;
        const int wend = std::min(wstart + kernel_w_, width_);
        Dtype sum = 0;
        Dtype sum_sq = 0;
        for (int h = hstart; h < hend; ++h) {
          for (int w = wstart; w < wend; ++w) {
            const Dtype v = data[h * width_ + w];
            sum += v;
            sum_sq += v * v;
          }
        }
        if (!train || hstart >= hend || wstart >= wend) {
          // TEST, or an empty window (see the MAX backward): no sample.
          top_data[out] = sum > 0 ? sum_sq / sum : Dtype(0);
          index_[out] = -1;
          continue;
        }
        // Walk the cumulative sum until it reaches the threshold; the last
        // cell is the fallback against rounding.
        const Dtype threshold = rand[out] * sum;
        Dtype cumsum = 0;
        int chosen = -1;
        for (int h = hstart; h < hend && chosen < 0; ++h) {
          for (int w = wstart; w < wend; ++w) {
            cumsum += data[h * width_ + w];
            if (cumsum >= threshold) {
              chosen = h * width_ + w;
              break;
            }
          }
        }
        if (chosen < 0) chosen = (hend - 1) * width_ + (wend - 1);
        index_[out] = chosen;
        top_data[out] = data[chosen];
      }
    }
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int planes = bottom[0]->shape(0) * channels_;
  const int in_size = height_ * width_;
  const int out_size = pooled_height_ * pooled_width_;
  switch (this->layer_param_.pooling_param().pool()) {
    case PoolingParameter::MAX: {
      const bool use_top_mask = top.size() > 1;
      const Dtype* top_mask = use_top_mask ? top[1]->cpu_data() : nullptr;
      const int* mask = use_top_mask ? nullptr : index_.data();
      ParallelFor(0, planes, 4, [&](int64_t plane) {
        Dtype* plane_diff = bottom_diff + plane * in_size;
        const Dtype* plane_top_diff = top_diff + plane * out_size;
        std::fill(plane_diff, plane_diff + in_size, Dtype(0));
        for (int i = 0; i < out_size; ++i) {
          const int64_t o = plane * out_size + i;
          const int idx = use_top_mask ? static_cast<int>(top_mask[o]) : mask[o];
          // -1: an empty window (CEIL rounding with stride > kernel and no
          // pad can place the last window outside the image; Caffe outputs
          // -FLT_MAX there). It has no input to route the gradient to.
          if (idx >= 0) plane_diff[idx] += plane_top_diff[i];
        }
      });
      break;
    }
    case PoolingParameter::AVE:
      ParallelFor(0, planes, 4, [&](int64_t plane) {
        Dtype* plane_diff = bottom_diff + plane * in_size;
        const Dtype* plane_top_diff = top_diff + plane * out_size;
        std::fill(plane_diff, plane_diff + in_size, Dtype(0));
        for (int ph = 0; ph < pooled_height_; ++ph) {
          for (int pw = 0; pw < pooled_width_; ++pw) {
            const AveWindow win = AveWindowAt(ph, pw);
            if (win.empty()) continue;
            const Dtype g = plane_top_diff[ph * pooled_width_ + pw] / win.pool_size;
            for (int h = win.hstart; h < win.hend; ++h) {
              for (int w = win.wstart; w < win.wend; ++w) plane_diff[h * width_ + w] += g;
            }
          }
        }
      });
      break;
    case PoolingParameter::STOCHASTIC:
      caffe_set(bottom[0]->count(), Dtype(0), bottom_diff);
      BackwardStochastic(top_diff, bottom[0]->cpu_data(), bottom_diff);
      break;
    default:
      THROW_ERROR() << "unknown pooling method";
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::BackwardStochastic(const Dtype* top_diff, const Dtype* bottom_data,
                                             Dtype* bottom_diff) {
  const int out_size = pooled_height_ * pooled_width_;
  const int planes = static_cast<int>(index_.size()) / out_size;
  const size_t in_size = static_cast<size_t>(height_) * width_;
  int out = 0;
  for (int plane = 0; plane < planes; ++plane) {
    const Dtype* data = bottom_data + plane * in_size;
    Dtype* diff = bottom_diff + plane * in_size;
    for (int ph = 0; ph < pooled_height_; ++ph) {
      for (int pw = 0; pw < pooled_width_; ++pw, ++out) {
        if (sampled_) {
          // TRAIN: the output is the sampled cell.
          if (index_[out] >= 0) diff[index_[out]] += top_diff[out];
          continue;
        }
        // TEST: y = S2 / S1 with S1 = sum x, S2 = sum x^2, so
        // dy/dx = (2 x S1 - S2) / S1^2 (0 where the output was clamped).
        const int hstart = ph * stride_h_, hend = std::min(hstart + kernel_h_, height_);
        const int wstart = pw * stride_w_, wend = std::min(wstart + kernel_w_, width_);
        Dtype s1 = 0, s2 = 0;
        for (int h = hstart; h < hend; ++h) {
          for (int w = wstart; w < wend; ++w) {
            s1 += data[h * width_ + w];
            s2 += data[h * width_ + w] * data[h * width_ + w];
          }
        }
        if (!(s1 > 0)) continue;
        const Dtype scale = top_diff[out] / (s1 * s1);
        for (int h = hstart; h < hend; ++h) {
          for (int w = wstart; w < wend; ++w) {
            diff[h * width_ + w] += scale * (2 * data[h * width_ + w] * s1 - s2);
          }
        }
      }
    }
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(PoolingLayer)
#endif

INSTANTIATE_CLASS(PoolingLayer);

}  // namespace deepspark
