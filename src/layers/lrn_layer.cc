#include "deepspark/layers/lrn_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/parallel.hpp"

namespace deepspark {

namespace {

// out = s^-beta. beta = 0.75 (the value in nearly every model) uses two square
// roots, several times faster than pow and within a few ulps of it.
template <typename Dtype>
void NegPow(int n, const Dtype* s, Dtype beta, Dtype* out) {
  if (beta == Dtype(0.75)) {
    for (int i = 0; i < n; ++i) {
      const Dtype r = std::sqrt(s[i]);
      out[i] = Dtype(1) / (r * std::sqrt(r));
    }
  } else {
    caffe_powx(n, s, -beta, out);
  }
}

}  // namespace

template <typename Dtype>
void LRNLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  const caffe::LRNParameter& p = this->layer_param_.lrn_param();
  size_ = static_cast<int>(p.local_size());
  REQUIRE(size_ % 2 == 1) << "LRN only supports odd values for local_size (got " << size_ << ")";
  pre_pad_ = (size_ - 1) / 2;
  alpha_ = p.alpha();
  beta_ = p.beta();
  k_ = p.k();
  across_channels_ = p.norm_region() == caffe::LRNParameter::ACROSS_CHANNELS;
}

template <typename Dtype>
void LRNLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                              const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() == 4)
      << "LRN needs a 4-D bottom (N, C, H, W), got " << bottom[0]->shape_string();
  num_ = bottom[0]->shape(0);
  channels_ = bottom[0]->shape(1);
  height_ = bottom[0]->shape(2);
  width_ = bottom[0]->shape(3);
  top[0]->ReshapeLike(*bottom[0]);
  scale_.ReshapeLike(*bottom[0]);
  scale_pow_.ReshapeLike(*bottom[0]);
  const size_t plane = static_cast<size_t>(height_) * width_;
  // One work buffer per thread: images (ACROSS) or planes (WITHIN) are split
  // over the threads.
  buffer_size_ = across_channels_ ? (channels_ + size_ - 1) * plane : plane;
  padded_.resize(buffer_size_ * MaxThreads());
  accum_.resize(plane * MaxThreads());
}

template <typename Dtype>
void LRNLayer<Dtype>::WindowSum(const Dtype* in, Dtype* out) const {
  for (int h = 0; h < height_; ++h) {
    const int hstart = std::max(h - pre_pad_, 0);
    const int hend = std::min(h - pre_pad_ + size_, height_);
    for (int w = 0; w < width_; ++w) {
      const int wstart = std::max(w - pre_pad_, 0);
      const int wend = std::min(w - pre_pad_ + size_, width_);
      Dtype sum = 0;
      for (int hh = hstart; hh < hend; ++hh) {
        for (int ww = wstart; ww < wend; ++ww) sum += in[hh * width_ + ww];
      }
      out[h * width_ + w] = sum;
    }
  }
}

template <typename Dtype>
void LRNLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->cpu_data();
  Dtype* top_data = top[0]->mutable_cpu_data();
  Dtype* scale = scale_.mutable_cpu_data();
  const int plane = height_ * width_;
  const int count = bottom[0]->count();
  if (across_channels_) {
    // A thread's buffer holds (alpha/n) x^2 of one image with pre_pad zero
    // planes on either side; the window sum slides along the channels.
    const Dtype alpha_over_size = alpha_ / size_;
    ParallelRanges(num_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype* padded = padded_.data() + t * buffer_size_;
      std::fill(padded, padded + buffer_size_, Dtype(0));
      for (int64_t n = lo; n < hi; ++n) {
        const Dtype* x = bottom_data + n * channels_ * plane;
        Dtype* s = scale + n * channels_ * plane;
        Dtype* sq = padded + static_cast<size_t>(pre_pad_) * plane;
        for (int i = 0; i < channels_ * plane; ++i) sq[i] = alpha_over_size * x[i] * x[i];
        caffe_set(plane, k_, s);
        for (int c = 0; c < size_ - 1; ++c) caffe_axpy(plane, Dtype(1), padded + c * plane, s);
        for (int c = 0; c < channels_; ++c) {
          Dtype* sc = s + c * plane;
          if (c > 0) caffe_copy(plane, sc - plane, sc);
          caffe_axpy(plane, Dtype(1), padded + (c + size_ - 1) * plane, sc);
          if (c > 0) caffe_axpy(plane, Dtype(-1), padded + (c - 1) * plane, sc);
        }
      }
    });
  } else {
    // scale = 1 + alpha * windowsum(x^2) / n^2.
    const Dtype alpha_over_area = alpha_ / (size_ * size_);
    ParallelRanges(num_ * channels_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype* squares = padded_.data() + t * buffer_size_;
      for (int64_t p = lo; p < hi; ++p) {
        const Dtype* x = bottom_data + p * plane;
        Dtype* s = scale + p * plane;
        for (int i = 0; i < plane; ++i) squares[i] = x[i] * x[i];
        WindowSum(squares, s);
        for (int i = 0; i < plane; ++i) s[i] = Dtype(1) + alpha_over_area * s[i];
      }
    });
  }
  Dtype* scale_pow = scale_pow_.mutable_cpu_data();
  ParallelRanges(count, kMinParallelElements, [&](int, int64_t lo, int64_t hi) {
    NegPow(static_cast<int>(hi - lo), scale + lo, beta_, scale_pow + lo);
    caffe_mul(static_cast<int>(hi - lo), scale_pow + lo, bottom_data + lo, top_data + lo);
  });
}

template <typename Dtype>
void LRNLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  // Both modes: dx_j = dy_j scale_j^-beta
  //   - c * x_j * sum over the window of j of (dy_i y_i / scale_i),
  // with c = 2 alpha beta / n (across) or 2 alpha beta / n^2 (within); the
  // windows are symmetric, so "i whose window holds j" = "the window of j".
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* top_data = top[0]->cpu_data();
  const Dtype* bottom_data = bottom[0]->cpu_data();
  const Dtype* scale = scale_.cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int plane = height_ * width_;
  const int count = bottom[0]->count();
  const Dtype* scale_pow = scale_pow_.cpu_data();
  ParallelRanges(count, kMinParallelElements, [&](int, int64_t lo, int64_t hi) {
    caffe_mul(static_cast<int>(hi - lo), top_diff + lo, scale_pow + lo, bottom_diff + lo);
  });
  if (across_channels_) {
    const Dtype cache_ratio = Dtype(2) * alpha_ * beta_ / size_;
    ParallelRanges(num_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype* padded = padded_.data() + t * buffer_size_;
      Dtype* accum = accum_.data() + t * plane;
      std::fill(padded, padded + buffer_size_, Dtype(0));
      for (int64_t n = lo; n < hi; ++n) {
        const size_t off = static_cast<size_t>(n) * channels_ * plane;
        Dtype* ratio = padded + static_cast<size_t>(pre_pad_) * plane;
        for (int i = 0; i < channels_ * plane; ++i) {
          ratio[i] = top_diff[off + i] * top_data[off + i] / scale[off + i];
        }
        std::fill(accum, accum + plane, Dtype(0));
        for (int c = 0; c < size_ - 1; ++c) caffe_axpy(plane, Dtype(1), padded + c * plane, accum);
        for (int c = 0; c < channels_; ++c) {
          caffe_axpy(plane, Dtype(1), padded + (c + size_ - 1) * plane, accum);
          const Dtype* x = bottom_data + off + c * plane;
          Dtype* dx = bottom_diff + off + c * plane;
          for (int i = 0; i < plane; ++i) dx[i] -= cache_ratio * x[i] * accum[i];
          caffe_axpy(plane, Dtype(-1), padded + c * plane, accum);
        }
      }
    });
  } else {
    const Dtype cache_ratio = Dtype(2) * alpha_ * beta_ / (size_ * size_);
    ParallelRanges(num_ * channels_, 2, [&](int t, int64_t lo, int64_t hi) {
      Dtype* ratio = padded_.data() + t * buffer_size_;
      Dtype* accum = accum_.data() + t * plane;
      for (int64_t p = lo; p < hi; ++p) {
        const size_t off = static_cast<size_t>(p) * plane;
        for (int i = 0; i < plane; ++i) {
          ratio[i] = top_diff[off + i] * top_data[off + i] / scale[off + i];
        }
        WindowSum(ratio, accum);
        for (int i = 0; i < plane; ++i) {
          bottom_diff[off + i] -= cache_ratio * bottom_data[off + i] * accum[i];
        }
      }
    });
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(LRNLayer)
#endif

INSTANTIATE_CLASS(LRNLayer);

}  // namespace deepspark
