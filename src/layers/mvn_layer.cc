#include "deepspark/layers/mvn_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void MVNLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                              const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 1) << "MVN: bottom must have at least one axis";
  const int n = bottom[0]->shape(0);
  const int c = bottom[0]->num_axes() > 1 ? bottom[0]->shape(1) : 1;
  num_ = this->layer_param_.mvn_param().across_channels() ? n : n * c;
  dim_ = num_ > 0 ? bottom[0]->count() / num_ : 0;
  if (bottom[0] != top[0]) top[0]->ReshapeLike(*bottom[0]);
  y_.ReshapeLike(*bottom[0]);
  denom_.resize(num_);
}

template <typename Dtype>
void MVNLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const caffe::MVNParameter& p = this->layer_param_.mvn_param();
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  Dtype* saved = y_.mutable_cpu_data();
  for (int i = 0; i < num_; ++i) {
    const int off = i * dim_;
    Dtype mean = 0;
    for (int j = 0; j < dim_; ++j) mean += x[off + j];
    mean /= dim_;
    Dtype denom = 1;
    if (p.normalize_variance()) {
      Dtype var = 0;
      for (int j = 0; j < dim_; ++j) var += (x[off + j] - mean) * (x[off + j] - mean);
      var /= dim_;
      denom = std::sqrt(var) + Dtype(p.eps());
    }
    denom_[i] = denom;
    for (int j = 0; j < dim_; ++j) {
      saved[off + j] = (x[off + j] - mean) / denom;
      y[off + j] = saved[off + j];
    }
  }
}

template <typename Dtype>
void MVNLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const bool normalize_variance = this->layer_param_.mvn_param().normalize_variance();
  const Dtype* dy = top[0]->cpu_diff();
  const Dtype* y = y_.cpu_data();
  Dtype* dx = bottom[0]->mutable_cpu_diff();  // may alias dy
  for (int i = 0; i < num_; ++i) {
    const int off = i * dim_;
    Dtype mean_dy = 0, mean_dy_y = 0;
    for (int j = 0; j < dim_; ++j) {
      mean_dy += dy[off + j];
      mean_dy_y += dy[off + j] * y[off + j];
    }
    mean_dy /= dim_;
    mean_dy_y /= dim_;
    if (normalize_variance) {
      // Caffe's formula: (dy - mean(dy) - mean(dy*y)*y) / (sqrt(var) + eps).
      for (int j = 0; j < dim_; ++j) {
        dx[off + j] = (dy[off + j] - mean_dy - mean_dy_y * y[off + j]) / denom_[i];
      }
    } else {
      for (int j = 0; j < dim_; ++j) dx[off + j] = dy[off + j] - mean_dy;
    }
  }
}

INSTANTIATE_CLASS(MVNLayer);
REGISTER_LAYER_CLASS(MVN);

}  // namespace deepspark
