#include "deepspark/layers/reduction_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ReductionLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const caffe::ReductionParameter& p = this->layer_param_.reduction_param();
  const int n = bottom[0]->num_axes();
  REQUIRE(p.axis() >= -n && p.axis() < n)
      << "Reduction: axis " << p.axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  const int axis = bottom[0]->CanonicalAxisIndex(p.axis());
  top[0]->Reshape(std::vector<int>(bottom[0]->shape().begin(), bottom[0]->shape().begin() + axis));
  num_ = bottom[0]->count(0, axis);
  dim_ = bottom[0]->count(axis);
}

template <typename Dtype>
void ReductionLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const caffe::ReductionParameter& p = this->layer_param_.reduction_param();
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  for (int i = 0; i < num_; ++i, x += dim_) {
    Dtype acc = 0;
    switch (p.operation()) {
      case caffe::ReductionParameter::SUM:
      case caffe::ReductionParameter::MEAN:
        for (int j = 0; j < dim_; ++j) acc += x[j];
        break;
      case caffe::ReductionParameter::ASUM:
        for (int j = 0; j < dim_; ++j) acc += std::fabs(x[j]);
        break;
      case caffe::ReductionParameter::SUMSQ:
        for (int j = 0; j < dim_; ++j) acc += x[j] * x[j];
        break;
      default:
        THROW_ERROR() << "Reduction: unknown operation " << static_cast<int>(p.operation());
    }
    if (p.operation() == caffe::ReductionParameter::MEAN) acc /= dim_;
    y[i] = acc * Dtype(p.coeff());
  }
}

template <typename Dtype>
void ReductionLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const caffe::ReductionParameter& p = this->layer_param_.reduction_param();
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* dy = top[0]->cpu_diff();
  Dtype* dx = bottom[0]->mutable_cpu_diff();
  Dtype coeff = p.coeff();
  if (p.operation() == caffe::ReductionParameter::MEAN) coeff /= dim_;
  for (int i = 0; i < num_; ++i, x += dim_, dx += dim_) {
    const Dtype g = coeff * dy[i];
    switch (p.operation()) {
      case caffe::ReductionParameter::SUM:
      case caffe::ReductionParameter::MEAN:
        for (int j = 0; j < dim_; ++j) dx[j] = g;
        break;
      case caffe::ReductionParameter::ASUM:
        for (int j = 0; j < dim_; ++j) dx[j] = g * Dtype((x[j] > 0) - (x[j] < 0));
        break;
      case caffe::ReductionParameter::SUMSQ:
        for (int j = 0; j < dim_; ++j) dx[j] = g * 2 * x[j];
        break;
      default:
        THROW_ERROR() << "Reduction: unknown operation " << static_cast<int>(p.operation());
    }
  }
}

INSTANTIATE_CLASS(ReductionLayer);
REGISTER_LAYER_CLASS(Reduction);

}  // namespace deepspark
