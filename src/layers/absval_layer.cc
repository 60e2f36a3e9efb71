#include "deepspark/layers/absval_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void AbsValLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(top[0] != bottom[0]) << "AbsVal layer does not allow in-place computation";
}

template <typename Dtype>
void AbsValLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  caffe_abs(bottom[0]->count(), bottom[0]->cpu_data(), top[0]->mutable_cpu_data());
}

template <typename Dtype>
void AbsValLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const int count = bottom[0]->count();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  caffe_cpu_sign(count, bottom[0]->cpu_data(), bottom_diff);
  caffe_mul(count, bottom_diff, top[0]->cpu_diff(), bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(AbsValLayer)
#endif

INSTANTIATE_CLASS(AbsValLayer);
REGISTER_LAYER_CLASS(AbsVal);

}  // namespace deepspark
