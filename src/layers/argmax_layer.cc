#include "deepspark/layers/argmax_layer.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ArgMaxLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  const caffe::ArgMaxParameter& p = this->layer_param_.argmax_param();
  REQUIRE(p.top_k() >= 1) << "ArgMax: top_k must be at least 1";
  top_k_ = static_cast<int>(p.top_k());
  has_axis_ = p.has_axis();
  const int n = bottom[0]->num_axes();
  std::vector<int> shape(std::max(n, 3), 1);
  if (has_axis_) {
    REQUIRE(p.axis() >= -n && p.axis() < n)
        << "ArgMax: axis " << p.axis() << " out of range for bottom of shape "
        << bottom[0]->shape_string();
    axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
    REQUIRE(top_k_ <= bottom[0]->shape(axis_))
        << "ArgMax: top_k " << top_k_ << " exceeds the " << bottom[0]->shape(axis_)
        << " values on axis " << axis_ << " of bottom of shape " << bottom[0]->shape_string();
    shape = bottom[0]->shape();
    shape[axis_] = top_k_;
  } else {
    REQUIRE(n >= 1 && top_k_ <= bottom[0]->count(1))
        << "ArgMax: top_k " << top_k_ << " exceeds the values per item of bottom of shape "
        << bottom[0]->shape_string();
    shape[0] = bottom[0]->shape(0);
    shape[2] = top_k_;
    if (p.out_max_val()) shape[1] = 2;
  }
  top[0]->Reshape(shape);
}

template <typename Dtype>
void ArgMaxLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  const bool out_max_val = this->layer_param_.argmax_param().out_max_val();
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  int dim, stride;  // values compared per position, and their spacing
  if (has_axis_) {
    dim = bottom[0]->shape(axis_);
    stride = bottom[0]->count(axis_ + 1);
  } else {
    dim = bottom[0]->count(1);
    stride = 1;
  }
  const int outer = bottom[0]->count() / dim;
  std::vector<std::pair<Dtype, int>> pairs(dim);
  for (int i = 0; i < outer; ++i) {
    const int o = i / stride, in = i % stride;
    for (int j = 0; j < dim; ++j) pairs[j] = {x[(o * dim + j) * stride + in], j};
    std::partial_sort(pairs.begin(), pairs.begin() + top_k_, pairs.end(),
                      std::greater<std::pair<Dtype, int>>());
    for (int k = 0; k < top_k_; ++k) {
      if (has_axis_) {
        y[(o * top_k_ + k) * stride + in] = out_max_val ? pairs[k].first : Dtype(pairs[k].second);
      } else if (out_max_val) {
        y[2 * i * top_k_ + k] = Dtype(pairs[k].second);
        y[2 * i * top_k_ + top_k_ + k] = pairs[k].first;
      } else {
        y[i * top_k_ + k] = Dtype(pairs[k].second);
      }
    }
  }
}

template <typename Dtype>
void ArgMaxLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[0]) << "ArgMax: cannot backpropagate (it is not differentiable)";
}

INSTANTIATE_CLASS(ArgMaxLayer);
REGISTER_LAYER_CLASS(ArgMax);

}  // namespace deepspark
