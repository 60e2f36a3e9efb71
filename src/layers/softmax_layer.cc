#include "deepspark/layers/softmax_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void SoftmaxLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int axis_param = this->layer_param_.softmax_param().axis();
  const int num_axes = bottom[0]->num_axes();
  REQUIRE(axis_param >= -num_axes && axis_param < num_axes)
      << "Softmax layer: axis " << axis_param << " out of range for bottom "
      << bottom[0]->shape_string();
  const int axis = bottom[0]->CanonicalAxisIndex(axis_param);
  top[0]->ReshapeLike(*bottom[0]);
  outer_num_ = bottom[0]->count(0, axis);
  inner_num_ = bottom[0]->count(axis + 1);
  channels_ = bottom[0]->shape(axis);
  // One row of inner_num_ per thread: the outer items are split over the
  // threads.
  scale_.assign(static_cast<size_t>(inner_num_) * MaxThreads(), Dtype(0));
}

template <typename Dtype>
void SoftmaxLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int dim = channels_ * inner_num_;
  if (x != y) caffe_copy(bottom[0]->count(), x, y);
  ParallelRanges(outer_num_, 2, [&](int t, int64_t lo, int64_t hi) {
    Dtype* scale = scale_.data() + static_cast<size_t>(t) * inner_num_;
    for (int64_t i = lo; i < hi; ++i) ForwardOne(y + i * dim, scale);
  });
}

template <typename Dtype>
void SoftmaxLayer<Dtype>::ForwardOne(Dtype* yi, Dtype* scale) const {
  // Max over the channels, per inner position.
  caffe_copy(inner_num_, yi, scale);
  for (int c = 1; c < channels_; ++c) {
    for (int k = 0; k < inner_num_; ++k) scale[k] = std::max(scale[k], yi[c * inner_num_ + k]);
  }
  for (int c = 0; c < channels_; ++c) {
    for (int k = 0; k < inner_num_; ++k) {
      yi[c * inner_num_ + k] = std::exp(yi[c * inner_num_ + k] - scale[k]);
    }
  }
  // Sum, then divide.
  caffe_set(inner_num_, Dtype(0), scale);
  for (int c = 0; c < channels_; ++c) {
    for (int k = 0; k < inner_num_; ++k) scale[k] += yi[c * inner_num_ + k];
  }
  for (int c = 0; c < channels_; ++c) {
    for (int k = 0; k < inner_num_; ++k) yi[c * inner_num_ + k] /= scale[k];
  }
}

template <typename Dtype>
void SoftmaxLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* y = top[0]->cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int dim = channels_ * inner_num_;
  if (top_diff != bottom_diff) caffe_copy(top[0]->count(), top_diff, bottom_diff);
  // dx = (dy - sum_c(dy * y)) * y
  ParallelRanges(outer_num_, 2, [&](int t, int64_t lo, int64_t hi) {
    Dtype* scale = scale_.data() + static_cast<size_t>(t) * inner_num_;
    for (int64_t i = lo; i < hi; ++i) {
      Dtype* dxi = bottom_diff + i * dim;
      const Dtype* yi = y + i * dim;
      for (int k = 0; k < inner_num_; ++k) {
        scale[k] = caffe_cpu_strided_dot(channels_, dxi + k, inner_num_, yi + k, inner_num_);
      }
      for (int c = 0; c < channels_; ++c) {
        for (int k = 0; k < inner_num_; ++k) dxi[c * inner_num_ + k] -= scale[k];
      }
    }
  });
  caffe_mul(top[0]->count(), bottom_diff, y, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SoftmaxLayer)
#endif

INSTANTIATE_CLASS(SoftmaxLayer);


}  // namespace deepspark
