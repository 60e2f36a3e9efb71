#include "deepspark/layers/sigmoid_cross_entropy_loss_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                                     const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::LayerSetUp(bottom, top);
  caffe::LayerParameter sigmoid_param;
  sigmoid_param.set_type("Sigmoid");
  sigmoid_layer_ = std::make_unique<SigmoidLayer<Dtype>>(sigmoid_param);
  sigmoid_bottom_vec_ = {bottom[0]};
  sigmoid_top_vec_ = {&sigmoid_output_};
  sigmoid_layer_->SetUp(sigmoid_bottom_vec_, sigmoid_top_vec_);

  const caffe::LossParameter& lp = this->layer_param_.loss_param();
  has_ignore_label_ = lp.has_ignore_label();
  if (has_ignore_label_) ignore_label_ = lp.ignore_label();
  if (lp.has_normalization()) {
    normalization_ = lp.normalization();
  } else if (lp.has_normalize()) {
    normalization_ =
        lp.normalize() ? caffe::LossParameter::VALID : caffe::LossParameter::BATCH_SIZE;
  } else {
    normalization_ = caffe::LossParameter::BATCH_SIZE;
  }
}

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                                  const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  outer_num_ = bottom[0]->shape(0);
  inner_num_ = bottom[0]->count(1);
  REQUIRE(bottom[0]->count() == bottom[1]->count())
      << "SigmoidCrossEntropyLoss: inputs must have the same count (" << bottom[0]->shape_string()
      << " vs " << bottom[1]->shape_string() << ")";
  sigmoid_bottom_vec_[0] = bottom[0];
  sigmoid_layer_->Reshape(sigmoid_bottom_vec_, sigmoid_top_vec_);
}

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                                      const std::vector<Blob<Dtype>*>& top) {
  sigmoid_layer_->Forward(sigmoid_bottom_vec_, sigmoid_top_vec_);
  const int count = bottom[0]->count();
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* target = bottom[1]->cpu_data();
  int valid_count = 0;
  Dtype loss = 0;
  for (int i = 0; i < count; ++i) {
    const int target_value = static_cast<int>(target[i]);
    if (has_ignore_label_ && target_value == ignore_label_) continue;
    const Dtype pos = x[i] >= 0;
    loss -= x[i] * (target[i] - pos) - std::log(Dtype(1) + std::exp(x[i] - 2 * x[i] * pos));
    ++valid_count;
  }
  normalizer_ =
      LossLayer<Dtype>::GetNormalizer(normalization_, outer_num_, inner_num_, valid_count);
  top[0]->mutable_cpu_data()[0] = loss / normalizer_;
}

template <typename Dtype>
void SigmoidCrossEntropyLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                                       const std::vector<bool>& propagate_down,
                                                       const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1])
      << "SigmoidCrossEntropyLoss layer cannot backpropagate to label inputs";
  if (!propagate_down[0]) return;
  const int count = bottom[0]->count();
  const Dtype* p = sigmoid_output_.cpu_data();
  const Dtype* target = bottom[1]->cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  // dL/dx = p - t
  caffe_sub(count, p, target, bottom_diff);
  if (has_ignore_label_) {
    for (int i = 0; i < count; ++i) {
      if (static_cast<int>(target[i]) == ignore_label_) bottom_diff[i] = 0;
    }
  }
  caffe_scal(count, top[0]->cpu_diff()[0] / normalizer_, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SigmoidCrossEntropyLossLayer)
#endif

INSTANTIATE_CLASS(SigmoidCrossEntropyLossLayer);
REGISTER_LAYER_CLASS(SigmoidCrossEntropyLoss);

}  // namespace deepspark
