#include "deepspark/layers/slice_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void SliceLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const caffe::SliceParameter& p = this->layer_param_.slice_param();
  REQUIRE(!(p.has_axis() && p.has_slice_dim()))
      << "Slice: set either axis or slice_dim (deprecated), not both";
  slice_point_.assign(p.slice_point().begin(), p.slice_point().end());
}

template <typename Dtype>
void SliceLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  const caffe::SliceParameter& p = this->layer_param_.slice_param();
  const int num_axes = bottom[0]->num_axes();
  if (p.has_slice_dim()) {
    slice_axis_ = static_cast<int>(p.slice_dim());
    REQUIRE(slice_axis_ < num_axes)
        << "Slice: slice_dim " << slice_axis_ << " out of range for bottom of shape "
        << bottom[0]->shape_string();
  } else {
    REQUIRE(p.axis() >= -num_axes && p.axis() < num_axes)
        << "Slice: axis " << p.axis() << " out of range for bottom of shape "
        << bottom[0]->shape_string();
    slice_axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
  }
  std::vector<int> top_shape = bottom[0]->shape();
  const int bottom_slice_axis = bottom[0]->shape(slice_axis_);
  num_slices_ = bottom[0]->count(0, slice_axis_);
  slice_input_size_ = bottom[0]->count(slice_axis_ + 1);
  const int num_tops = static_cast<int>(top.size());
  if (!slice_point_.empty()) {
    REQUIRE(static_cast<int>(slice_point_.size()) == num_tops - 1)
        << "Slice: " << slice_point_.size() << " slice_point(s) given for " << num_tops
        << " tops; need exactly " << num_tops - 1;
    int prev = 0;
    for (size_t i = 0; i < slice_point_.size(); ++i) {
      REQUIRE(slice_point_[i] > prev && slice_point_[i] < bottom_slice_axis)
          << "Slice: slice_point " << i << " = " << slice_point_[i]
          << " must be greater than the previous point (" << prev
          << ") and less than the slice axis size " << bottom_slice_axis
          << " (slice points must be strictly increasing and leave no empty slice)";
      prev = slice_point_[i];
    }
    prev = 0;
    for (int i = 0; i < num_tops; ++i) {
      const int next = i + 1 < num_tops ? slice_point_[i] : bottom_slice_axis;
      top_shape[slice_axis_] = next - prev;
      top[i]->Reshape(top_shape);
      prev = next;
    }
  } else {
    REQUIRE(bottom_slice_axis % num_tops == 0)
        << "Slice: bottom shape " << bottom[0]->shape_string() << " has " << bottom_slice_axis
        << " on axis " << slice_axis_ << ", which does not split evenly into " << num_tops
        << " tops; give slice_point values";
    top_shape[slice_axis_] = bottom_slice_axis / num_tops;
    for (auto* t : top) t->Reshape(top_shape);
  }
  if (num_tops == 1) {
    top[0]->ShareData(*bottom[0]);
    top[0]->ShareDiff(*bottom[0]);
  }
}

template <typename Dtype>
void SliceLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  if (top.size() == 1) return;
  const Dtype* bottom_data = bottom[0]->cpu_data();
  const int bottom_axis = bottom[0]->shape(slice_axis_);
  int offset = 0;
  for (auto* t : top) {
    const int axis_dim = t->shape(slice_axis_);
    const int chunk = axis_dim * slice_input_size_;
    Dtype* top_data = t->mutable_cpu_data();
    for (int n = 0; n < num_slices_; ++n) {
      caffe_copy(chunk, bottom_data + (n * bottom_axis + offset) * slice_input_size_,
                 top_data + n * chunk);
    }
    offset += axis_dim;
  }
}

template <typename Dtype>
void SliceLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0] || top.size() == 1) return;
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int bottom_axis = bottom[0]->shape(slice_axis_);
  int offset = 0;
  for (auto* t : top) {
    const int axis_dim = t->shape(slice_axis_);
    const int chunk = axis_dim * slice_input_size_;
    const Dtype* top_diff = t->cpu_diff();
    for (int n = 0; n < num_slices_; ++n) {
      caffe_copy(chunk, top_diff + n * chunk,
                 bottom_diff + (n * bottom_axis + offset) * slice_input_size_);
    }
    offset += axis_dim;
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SliceLayer)
#endif

INSTANTIATE_CLASS(SliceLayer);
REGISTER_LAYER_CLASS(Slice);

}  // namespace deepspark
