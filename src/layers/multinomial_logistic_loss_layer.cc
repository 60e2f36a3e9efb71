#include "deepspark/layers/multinomial_logistic_loss_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

namespace {
constexpr double kLogThreshold = 1e-20;  // keeps log(p) finite
}  // namespace

template <typename Dtype>
void MultinomialLogisticLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                                  const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  REQUIRE(bottom[1]->count() == bottom[1]->shape(0))
      << "MultinomialLogisticLoss: the label must hold one value per sample, got "
      << bottom[1]->shape_string();
}

template <typename Dtype>
void MultinomialLogisticLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                                      const std::vector<Blob<Dtype>*>& top) {
  const Dtype* prob = bottom[0]->cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  const int num = bottom[0]->shape(0);
  if (num == 0) {
    // A batch of 0 (dividing by its 0 was a SIGFPE): no loss, no gradient.
    top[0]->mutable_cpu_data()[0] = 0;
    return;
  }
  const int dim = bottom[0]->count() / num;
  Dtype loss = 0;
  for (int i = 0; i < num; ++i) {
    const int l = static_cast<int>(label[i]);
    REQUIRE(l >= 0 && l < dim) << "MultinomialLogisticLoss: label " << l << " out of range [0, "
                               << dim << ")";
    loss -= std::log(std::max(prob[i * dim + l], Dtype(kLogThreshold)));
  }
  top[0]->mutable_cpu_data()[0] = loss / num;
}

template <typename Dtype>
void MultinomialLogisticLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                                       const std::vector<bool>& propagate_down,
                                                       const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1])
      << "MultinomialLogisticLoss layer cannot backpropagate to label inputs";
  if (!propagate_down[0] || bottom[0]->shape(0) == 0) return;
  const Dtype* prob = bottom[0]->cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int num = bottom[0]->shape(0);
  const int dim = bottom[0]->count() / num;
  caffe_set(bottom[0]->count(), Dtype(0), bottom_diff);
  const Dtype scale = -top[0]->cpu_diff()[0] / num;
  for (int i = 0; i < num; ++i) {
    const int l = static_cast<int>(label[i]);
    bottom_diff[i * dim + l] = scale / std::max(prob[i * dim + l], Dtype(kLogThreshold));
  }
}

INSTANTIATE_CLASS(MultinomialLogisticLossLayer);
REGISTER_LAYER_CLASS(MultinomialLogisticLoss);

}  // namespace deepspark
