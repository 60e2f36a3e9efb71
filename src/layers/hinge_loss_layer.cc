#include "deepspark/layers/hinge_loss_layer.hpp"

#include <algorithm>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void HingeLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  REQUIRE(bottom[1]->count() == bottom[1]->shape(0))
      << "HingeLoss: the label must hold one value per sample, got " << bottom[1]->shape_string();
  diff_.ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void HingeLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const Dtype* label = bottom[1]->cpu_data();
  Dtype* d = diff_.mutable_cpu_data();
  const int num = bottom[0]->shape(0);
  const int count = bottom[0]->count();
  if (num == 0) {
    // A batch of 0 (dividing by its 0 was a SIGFPE): no loss, no gradient.
    top[0]->mutable_cpu_data()[0] = 0;
    return;
  }
  const int dim = count / num;
  caffe_copy(count, bottom[0]->cpu_data(), d);
  // d = -delta * x, then max(0, 1 + d).
  for (int i = 0; i < num; ++i) {
    const int l = static_cast<int>(label[i]);
    REQUIRE(l >= 0 && l < dim) << "HingeLoss: label " << l << " out of range [0, " << dim << ")";
    d[i * dim + l] *= -1;
  }
  for (int i = 0; i < count; ++i) d[i] = std::max(Dtype(0), Dtype(1) + d[i]);
  Dtype loss = 0;
  switch (this->layer_param_.hinge_loss_param().norm()) {
    case caffe::HingeLossParameter::L1:
      loss = caffe_cpu_asum(count, d) / num;
      break;
    case caffe::HingeLossParameter::L2:
      loss = caffe_cpu_dot(count, d, d) / num;
      break;
  }
  top[0]->mutable_cpu_data()[0] = loss;
}

template <typename Dtype>
void HingeLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1]) << "HingeLoss layer cannot backpropagate to label inputs";
  if (!propagate_down[0] || bottom[0]->shape(0) == 0) return;
  const Dtype* label = bottom[1]->cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int num = bottom[0]->shape(0);
  const int count = bottom[0]->count();
  const int dim = count / num;
  // d(1 - delta x)/dx = -delta: restore the sign at the true class.
  caffe_copy(count, diff_.cpu_data(), bottom_diff);
  for (int i = 0; i < num; ++i) bottom_diff[i * dim + static_cast<int>(label[i])] *= -1;
  const Dtype loss_weight = top[0]->cpu_diff()[0];
  switch (this->layer_param_.hinge_loss_param().norm()) {
    case caffe::HingeLossParameter::L1:
      caffe_cpu_sign(count, bottom_diff, bottom_diff);
      caffe_scal(count, loss_weight / num, bottom_diff);
      break;
    case caffe::HingeLossParameter::L2:
      caffe_scal(count, loss_weight * 2 / num, bottom_diff);
      break;
  }
}

INSTANTIATE_CLASS(HingeLossLayer);
REGISTER_LAYER_CLASS(HingeLoss);

}  // namespace deepspark
