#include "deepspark/layers/exp_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ExpLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  const caffe::ExpParameter& p = this->layer_param_.exp_param();
  const Dtype base = p.base();
  REQUIRE(base > 0 || base == Dtype(-1))
      << "Exp layer: base must be strictly positive, or -1 for base e (got " << base << ")";
  const Dtype log_base = (base == Dtype(-1)) ? Dtype(1) : Dtype(std::log(base));
  inner_scale_ = log_base * p.scale();
  const Dtype shift = p.shift();
  outer_scale_ = (shift == Dtype(0))   ? Dtype(1)
                 : (base == Dtype(-1)) ? Dtype(std::exp(shift))
                                       : Dtype(std::pow(base, shift));
}

template <typename Dtype>
void ExpLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  Dtype* y = top[0]->mutable_cpu_data();
  if (inner_scale_ == Dtype(1)) {
    caffe_exp(count, bottom[0]->cpu_data(), y);
  } else {
    caffe_cpu_scale(count, inner_scale_, bottom[0]->cpu_data(), y);
    caffe_exp(count, y, y);
  }
  if (outer_scale_ != Dtype(1)) caffe_scal(count, outer_scale_, y);
}

template <typename Dtype>
void ExpLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const int count = bottom[0]->count();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  // dy/dx = inner_scale * y
  caffe_mul(count, top[0]->cpu_diff(), top[0]->cpu_data(), bottom_diff);
  if (inner_scale_ != Dtype(1)) caffe_scal(count, inner_scale_, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ExpLayer)
#endif

INSTANTIATE_CLASS(ExpLayer);
REGISTER_LAYER_CLASS(Exp);

}  // namespace deepspark
