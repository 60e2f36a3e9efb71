#include "deepspark/layers/power_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void PowerLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const caffe::PowerParameter& p = this->layer_param_.power_param();
  power_ = p.power();
  scale_ = p.scale();
  shift_ = p.shift();
  diff_scale_ = power_ * scale_;
}

template <typename Dtype>
void PowerLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  if (diff_scale_ == Dtype(0)) {
    // y does not depend on x.
    caffe_set(count, power_ == Dtype(0) ? Dtype(1) : Dtype(std::pow(shift_, power_)), y);
    return;
  }
  // Same operation order as Caffe (scale, shift, power) for identical rounding.
  caffe_copy(count, bottom[0]->cpu_data(), y);
  if (scale_ != Dtype(1)) caffe_scal(count, scale_, y);
  if (shift_ != Dtype(0)) caffe_add_scalar(count, shift_, y);
  if (power_ != Dtype(1)) caffe_powx(count, y, power_, y);
}

template <typename Dtype>
void PowerLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  const Dtype* top_diff = top[0]->cpu_diff();
  if (diff_scale_ == Dtype(0) || power_ == Dtype(1)) {
    caffe_set(count, diff_scale_, bottom_diff);
  } else {
    const Dtype* x = bottom[0]->cpu_data();
    // dy/dx = power * scale * (shift + scale * x)^(power - 1), computed in the
    // cheapest form for the common cases.
    if (power_ == Dtype(2)) {
      // 2 * scale * (shift + scale * x) = diff_scale * scale * x + diff_scale * shift
      caffe_cpu_axpby(count, diff_scale_ * scale_, x, Dtype(0), bottom_diff);
      if (shift_ != Dtype(0)) caffe_add_scalar(count, diff_scale_ * shift_, bottom_diff);
    } else if (shift_ == Dtype(0)) {
      // power * y / x
      const Dtype* y = top[0]->cpu_data();
      caffe_div(count, y, x, bottom_diff);
      caffe_scal(count, power_, bottom_diff);
    } else {
      // diff_scale * y / (shift + scale * x)
      caffe_copy(count, x, bottom_diff);
      if (scale_ != Dtype(1)) caffe_scal(count, scale_, bottom_diff);
      if (shift_ != Dtype(0)) caffe_add_scalar(count, shift_, bottom_diff);
      const Dtype* y = top[0]->cpu_data();
      caffe_div(count, y, bottom_diff, bottom_diff);
      if (diff_scale_ != Dtype(1)) caffe_scal(count, diff_scale_, bottom_diff);
    }
  }
  caffe_mul(count, top_diff, bottom_diff, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(PowerLayer)
#endif

INSTANTIATE_CLASS(PowerLayer);
REGISTER_LAYER_CLASS(Power);

}  // namespace deepspark
