#include "deepspark/layers/concat_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ConcatLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const caffe::ConcatParameter& p = this->layer_param_.concat_param();
  REQUIRE(!(p.has_axis() && p.has_concat_dim()))
      << "Concat: set either axis or concat_dim (deprecated), not both";
}

template <typename Dtype>
void ConcatLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  const caffe::ConcatParameter& p = this->layer_param_.concat_param();
  const int num_axes = bottom[0]->num_axes();
  if (p.has_concat_dim()) {
    concat_axis_ = static_cast<int>(p.concat_dim());
    REQUIRE(concat_axis_ < num_axes)
        << "Concat: concat_dim " << concat_axis_ << " out of range for bottom 0 of shape "
        << bottom[0]->shape_string();
  } else {
    REQUIRE(p.axis() >= -num_axes && p.axis() < num_axes)
        << "Concat: axis " << p.axis() << " out of range for bottom 0 of shape "
        << bottom[0]->shape_string();
    concat_axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
  }
  std::vector<int> top_shape = bottom[0]->shape();
  num_concats_ = bottom[0]->count(0, concat_axis_);
  concat_input_size_ = bottom[0]->count(concat_axis_ + 1);
  for (size_t i = 1; i < bottom.size(); ++i) {
    bool same = bottom[i]->num_axes() == num_axes;
    for (int j = 0; same && j < num_axes; ++j) {
      if (j != concat_axis_ && bottom[i]->shape(j) != top_shape[j]) same = false;
    }
    REQUIRE(same) << "Concat: bottom " << i << " has shape " << bottom[i]->shape_string()
                  << " but bottom 0 has shape " << bottom[0]->shape_string()
                  << "; all bottoms must have the same shape except on the concat axis "
                  << concat_axis_;
    top_shape[concat_axis_] += bottom[i]->shape(concat_axis_);
  }
  top[0]->Reshape(top_shape);
  if (bottom.size() == 1) {
    top[0]->ShareData(*bottom[0]);
    top[0]->ShareDiff(*bottom[0]);
  }
}

template <typename Dtype>
void ConcatLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  if (bottom.size() == 1) return;
  Dtype* top_data = top[0]->mutable_cpu_data();
  const int top_axis = top[0]->shape(concat_axis_);
  int offset = 0;
  for (auto* b : bottom) {
    const int axis_dim = b->shape(concat_axis_);
    const int chunk = axis_dim * concat_input_size_;
    const Dtype* bottom_data = b->cpu_data();
    for (int n = 0; n < num_concats_; ++n) {
      caffe_copy(chunk, bottom_data + n * chunk,
                 top_data + (n * top_axis + offset) * concat_input_size_);
    }
    offset += axis_dim;
  }
}

template <typename Dtype>
void ConcatLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  if (bottom.size() == 1) return;
  const Dtype* top_diff = top[0]->cpu_diff();
  const int top_axis = top[0]->shape(concat_axis_);
  int offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int axis_dim = bottom[i]->shape(concat_axis_);
    if (propagate_down[i]) {
      const int chunk = axis_dim * concat_input_size_;
      Dtype* bottom_diff = bottom[i]->mutable_cpu_diff();
      for (int n = 0; n < num_concats_; ++n) {
        caffe_copy(chunk, top_diff + (n * top_axis + offset) * concat_input_size_,
                   bottom_diff + n * chunk);
      }
    }
    offset += axis_dim;
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ConcatLayer)
#endif

INSTANTIATE_CLASS(ConcatLayer);
REGISTER_LAYER_CLASS(Concat);

}  // namespace deepspark
