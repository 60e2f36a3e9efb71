#include "deepspark/layers/filter_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void FilterLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(top.size() + 1 == bottom.size())
      << "Filter: " << bottom.size() << " bottoms (data blobs, then the selector) need "
      << bottom.size() - 1 << " tops, got " << top.size();
  num_bottoms_ = static_cast<int>(bottom.size());
  const Blob<Dtype>& selector = *bottom.back();
  REQUIRE(selector.num_axes() >= 1) << "Filter: the selector must have at least one axis";
  for (int i = 1; i < selector.num_axes(); ++i) {
    REQUIRE(selector.shape(i) == 1) << "Filter: selector of shape " << selector.shape_string()
                                    << " must be 1 on every axis but the first";
  }
  const int n = selector.shape(0);
  for (size_t i = 0; i + 1 < bottom.size(); ++i) {
    REQUIRE(bottom[i]->num_axes() >= 1 && bottom[i]->shape(0) == n)
        << "Filter: bottom " << i << " of shape " << bottom[i]->shape_string() << " must have " << n
        << " items like the selector";
  }
  indices_.clear();
  const Dtype* s = selector.cpu_data();
  for (int k = 0; k < n; ++k) {
    if (s[k] != 0) indices_.push_back(k);
  }
  int new_num = static_cast<int>(indices_.size());
  if (first_reshape_) {
    new_num = n;  // the selector may hold no data yet
    first_reshape_ = false;
  }
  for (size_t i = 0; i < top.size(); ++i) {
    std::vector<int> shape = bottom[i]->shape();
    shape[0] = new_num;
    top[i]->Reshape(shape);
  }
}

template <typename Dtype>
void FilterLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  for (size_t i = 0; i < top.size(); ++i) {
    const int inner = bottom[i]->count(1);
    const Dtype* x = bottom[i]->cpu_data();
    Dtype* y = top[i]->mutable_cpu_data();
    for (size_t k = 0; k < indices_.size(); ++k) {
      caffe_copy(inner, x + indices_[k] * inner, y + k * inner);
    }
  }
}

template <typename Dtype>
void FilterLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  // The selector (last bottom) is not differentiable; its diff is left alone.
  for (size_t i = 0; i < top.size(); ++i) {
    if (!propagate_down[i]) continue;
    const int inner = bottom[i]->count(1);
    const Dtype* dy = top[i]->cpu_diff();
    Dtype* dx = bottom[i]->mutable_cpu_diff();
    caffe_set(bottom[i]->count(), Dtype(0), dx);
    for (size_t k = 0; k < indices_.size(); ++k) {
      caffe_copy(inner, dy + k * inner, dx + indices_[k] * inner);
    }
  }
}

INSTANTIATE_CLASS(FilterLayer);
REGISTER_LAYER_CLASS(Filter);

}  // namespace deepspark
