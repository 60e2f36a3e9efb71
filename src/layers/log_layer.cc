#include "deepspark/layers/log_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void LogLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  const caffe::LogParameter& p = this->layer_param_.log_param();
  const Dtype base = p.base();
  REQUIRE(base > 0 || base == Dtype(-1))
      << "Log layer: base must be strictly positive, or -1 for base e (got " << base << ")";
  const Dtype log_base = (base == Dtype(-1)) ? Dtype(1) : Dtype(std::log(base));
  REQUIRE(std::isfinite(log_base) && log_base != Dtype(0))
      << "Log layer: log(base) must be finite and nonzero (base " << base << ")";
  base_scale_ = Dtype(1) / log_base;
  input_scale_ = p.scale();
  input_shift_ = p.shift();
  backward_num_scale_ = input_scale_ / log_base;
}

template <typename Dtype>
void LogLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  Dtype* y = top[0]->mutable_cpu_data();
  if (input_scale_ == Dtype(1) && input_shift_ == Dtype(0)) {
    caffe_log(count, bottom[0]->cpu_data(), y);
  } else {
    caffe_copy(count, bottom[0]->cpu_data(), y);
    if (input_scale_ != Dtype(1)) caffe_scal(count, input_scale_, y);
    if (input_shift_ != Dtype(0)) caffe_add_scalar(count, input_shift_, y);
    caffe_log(count, y, y);
  }
  if (base_scale_ != Dtype(1)) caffe_scal(count, base_scale_, y);
}

template <typename Dtype>
void LogLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const int count = bottom[0]->count();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  // dy/dx = scale / (ln(base) * (shift + scale * x))
  caffe_copy(count, bottom[0]->cpu_data(), bottom_diff);
  if (input_scale_ != Dtype(1)) caffe_scal(count, input_scale_, bottom_diff);
  if (input_shift_ != Dtype(0)) caffe_add_scalar(count, input_shift_, bottom_diff);
  caffe_powx(count, bottom_diff, Dtype(-1), bottom_diff);
  if (backward_num_scale_ != Dtype(1)) caffe_scal(count, backward_num_scale_, bottom_diff);
  caffe_mul(count, top[0]->cpu_diff(), bottom_diff, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(LogLayer)
#endif

INSTANTIATE_CLASS(LogLayer);
REGISTER_LAYER_CLASS(Log);

}  // namespace deepspark
