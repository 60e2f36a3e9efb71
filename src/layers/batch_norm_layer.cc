#include "deepspark/layers/batch_norm_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void BatchNormLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  const caffe::BatchNormParameter& p = this->layer_param_.batch_norm_param();
  moving_average_fraction_ = p.moving_average_fraction();
  use_global_stats_ = this->phase_ == caffe::TEST;
  if (p.has_use_global_stats()) use_global_stats_ = p.use_global_stats();
  eps_ = p.eps();
  channels_ = bottom[0]->num_axes() == 1 ? 1 : bottom[0]->shape(1);
  if (!this->blobs_.empty()) {
    REQUIRE(this->blobs_.size() == 3)
        << "BatchNorm: expected 3 stored blobs (mean, variance, scale factor), got "
        << this->blobs_.size();
    for (int i = 0; i < 2; ++i) {
      REQUIRE(this->blobs_[i]->count() == channels_)
          << "BatchNorm: stored blob " << i << " has shape " << this->blobs_[i]->shape_string()
          << " but the bottom has " << channels_ << " channels";
    }
    REQUIRE(this->blobs_[2]->count() == 1)
        << "BatchNorm: stored blob 2 (scale factor) has shape " << this->blobs_[2]->shape_string()
        << ", expected 1 element";
  } else {
    this->blobs_.resize(3);
    this->blobs_[0] = std::make_shared<Blob<Dtype>>(std::vector<int>{channels_});
    this->blobs_[1] = std::make_shared<Blob<Dtype>>(std::vector<int>{channels_});
    this->blobs_[2] = std::make_shared<Blob<Dtype>>(std::vector<int>{1});
    for (auto& b : this->blobs_) caffe_set(b->count(), Dtype(0), b->mutable_cpu_data());
  }
  // The blobs are running statistics; the solver must not change them.
  for (int i = 0; i < 3; ++i) {
    if (this->layer_param_.param_size() == i) {
      this->layer_param_.add_param()->set_lr_mult(0.f);
    } else {
      REQUIRE(this->layer_param_.param(i).lr_mult() == 0.f)
          << "BatchNorm: param " << i << " has lr_mult " << this->layer_param_.param(i).lr_mult()
          << "; the batch statistics cannot be learned, set lr_mult: 0";
    }
    this->set_param_propagate_down(i, false);
  }
}

template <typename Dtype>
void BatchNormLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  if (bottom[0]->num_axes() >= 1) {
    const int c = bottom[0]->num_axes() == 1 ? 1 : bottom[0]->shape(1);
    REQUIRE(c == channels_) << "BatchNorm: bottom of shape " << bottom[0]->shape_string() << " has "
                            << c << " channels, expected " << channels_;
  }
  if (bottom[0] != top[0]) top[0]->ReshapeLike(*bottom[0]);
  x_norm_.ReshapeLike(*bottom[0]);
  mean_.resize(channels_);
  var_.resize(channels_);
  inv_std_.resize(channels_);
  mean_dy_.resize(channels_);
  mean_dy_y_.resize(channels_);
  stats_gpu_.Reshape(std::vector<int>{5, channels_});
}

template <typename Dtype>
void BatchNormLayer<Dtype>::ComputeStatistics(const Dtype* x, int num, int spatial) {
  if (use_global_stats_) {
    const Dtype f = this->blobs_[2]->cpu_data()[0];
    const Dtype scale = f == 0 ? Dtype(0) : Dtype(1) / f;
    for (int c = 0; c < channels_; ++c) {
      mean_[c] = scale * this->blobs_[0]->cpu_data()[c];
      var_[c] = scale * this->blobs_[1]->cpu_data()[c];
    }
    return;
  }
  const int m = num * spatial;
  // Per channel, in double: summing 10^5..10^6 floats one at a time in a
  // float loses ~1e-3 of the variance of image-like data (mean ~100);
  // double sums keep the statistics at float precision, as Caffe's GEMM
  // reductions do. Channels are split over the threads.
  ParallelFor(0, channels_, 2, [&](int64_t c) {
    double sum = 0;
    for (int n = 0; n < num; ++n) {
      const Dtype* p = x + (static_cast<size_t>(n) * channels_ + c) * spatial;
      for (int s = 0; s < spatial; ++s) sum += p[s];
    }
    const double mean = sum / m;
    double sq = 0;
    for (int n = 0; n < num; ++n) {
      const Dtype* p = x + (static_cast<size_t>(n) * channels_ + c) * spatial;
      for (int s = 0; s < spatial; ++s) sq += (p[s] - mean) * (p[s] - mean);
    }
    mean_[c] = static_cast<Dtype>(mean);
    var_[c] = static_cast<Dtype>(sq / m);  // biased: normalization uses the batch's own
  });
  // Running statistics (unnormalized sums; blob2 tracks their weight).
  const Dtype maf = moving_average_fraction_;
  Dtype* factor = this->blobs_[2]->mutable_cpu_data();
  factor[0] = factor[0] * maf + 1;
  const Dtype bias_correction = m > 1 ? Dtype(m) / Dtype(m - 1) : Dtype(1);
  Dtype* mean_sum = this->blobs_[0]->mutable_cpu_data();
  Dtype* var_sum = this->blobs_[1]->mutable_cpu_data();
  for (int c = 0; c < channels_; ++c) {
    mean_sum[c] = mean_[c] + maf * mean_sum[c];
    var_sum[c] = bias_correction * var_[c] + maf * var_sum[c];
  }
}

template <typename Dtype>
void BatchNormLayer<Dtype>::AddEpsilon() {
  for (int c = 0; c < channels_; ++c) {
    var_[c] += eps_;
    inv_std_[c] = Dtype(1) / std::sqrt(var_[c]);
  }
}

template <typename Dtype>
void BatchNormLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  // A batch of 0 (or an empty spatial extent) has no statistics: the top is
  // empty and the running statistics stay as they are (dividing by its 0
  // values was a SIGFPE, and would have put NaN into them).
  if (bottom[0]->count() == 0) return;
  const int num = bottom[0]->shape(0);
  const int spatial = bottom[0]->count() / (num * channels_);
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();  // may alias x
  ComputeStatistics(x, num, spatial);
  AddEpsilon();
  Dtype* xn = x_norm_.mutable_cpu_data();
  ParallelFor(0, static_cast<int64_t>(num) * channels_, 2, [&](int64_t plane) {
    const int c = static_cast<int>(plane % channels_);
    const size_t off = static_cast<size_t>(plane) * spatial;
    for (int s = 0; s < spatial; ++s) {
      xn[off + s] = (x[off + s] - mean_[c]) * inv_std_[c];
      y[off + s] = xn[off + s];
    }
  });
}

template <typename Dtype>
void BatchNormLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0] || bottom[0]->count() == 0) return;
  const int num = bottom[0]->shape(0);
  const int spatial = bottom[0]->count() / (num * channels_);
  const Dtype* dy = top[0]->cpu_diff();
  Dtype* dx = bottom[0]->mutable_cpu_diff();  // may alias dy: each element reads only its own dy
  if (use_global_stats_) {
    ParallelFor(0, static_cast<int64_t>(num) * channels_, 2, [&](int64_t plane) {
      const int c = static_cast<int>(plane % channels_);
      const size_t off = static_cast<size_t>(plane) * spatial;
      for (int s = 0; s < spatial; ++s) dx[off + s] = dy[off + s] * inv_std_[c];
    });
    return;
  }
  // dx = (dy - mean(dy) - mean(dy * y) * y) / sqrt(var + eps), means per channel.
  const Dtype* y = x_norm_.cpu_data();
  const Dtype m = Dtype(num * spatial);
  // Per-channel means in double (see Forward), channels over the threads.
  ParallelFor(0, channels_, 2, [&](int64_t c) {
    double sum_dy = 0, sum_dy_y = 0;
    for (int n = 0; n < num; ++n) {
      const size_t off = (static_cast<size_t>(n) * channels_ + c) * spatial;
      for (int s = 0; s < spatial; ++s) {
        sum_dy += dy[off + s];
        sum_dy_y += dy[off + s] * y[off + s];
      }
    }
    mean_dy_[c] = static_cast<Dtype>(sum_dy / m);
    mean_dy_y_[c] = static_cast<Dtype>(sum_dy_y / m);
  });
  ParallelFor(0, static_cast<int64_t>(num) * channels_, 2, [&](int64_t plane) {
    const int c = static_cast<int>(plane % channels_);
    const size_t off = static_cast<size_t>(plane) * spatial;
    for (int s = 0; s < spatial; ++s) {
      dx[off + s] = (dy[off + s] - mean_dy_[c] - mean_dy_y_[c] * y[off + s]) * inv_std_[c];
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(BatchNormLayer)
#endif

INSTANTIATE_CLASS(BatchNormLayer);

}  // namespace deepspark
