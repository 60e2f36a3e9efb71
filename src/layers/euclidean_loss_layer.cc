#include "deepspark/layers/euclidean_loss_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void EuclideanLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  REQUIRE(bottom[0]->count(1) == bottom[1]->count(1))
      << "EuclideanLoss: inputs must have the same dimension (" << bottom[0]->shape_string()
      << " vs " << bottom[1]->shape_string() << ")";
  diff_.ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void EuclideanLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                            const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  caffe_sub(count, bottom[0]->cpu_data(), bottom[1]->cpu_data(), diff_.mutable_cpu_data());
  const Dtype dot = caffe_cpu_dot(count, diff_.cpu_data(), diff_.cpu_data());
  // A batch of 0: loss 0, not 0 / 0 (a NaN that would read as divergence).
  const int num = bottom[0]->shape(0);
  top[0]->mutable_cpu_data()[0] = num == 0 ? Dtype(0) : dot / num / Dtype(2);
}

template <typename Dtype>
void EuclideanLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                             const std::vector<bool>& propagate_down,
                                             const std::vector<Blob<Dtype>*>& bottom) {
  for (int i = 0; i < 2; ++i) {
    if (!propagate_down[i]) continue;
    const Dtype sign = (i == 0) ? 1 : -1;
    const Dtype alpha = sign * top[0]->cpu_diff()[0] / bottom[i]->shape(0);
    caffe_cpu_axpby(bottom[i]->count(), alpha, diff_.cpu_data(), Dtype(0),
                    bottom[i]->mutable_cpu_diff());
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(EuclideanLossLayer)
#endif

INSTANTIATE_CLASS(EuclideanLossLayer);
REGISTER_LAYER_CLASS(EuclideanLoss);

}  // namespace deepspark
