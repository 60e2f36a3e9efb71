#include "deepspark/layers/softmax_loss_layer.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                             const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::LayerSetUp(bottom, top);
  // The internal softmax sees only the softmax parameters.
  caffe::LayerParameter softmax_param;
  softmax_param.set_type("Softmax");
  *softmax_param.mutable_softmax_param() = this->layer_param_.softmax_param();
  softmax_layer_ = std::make_unique<SoftmaxLayer<Dtype>>(softmax_param);
  softmax_bottom_vec_ = {bottom[0]};
  softmax_top_vec_ = {&prob_};
  softmax_layer_->SetUp(softmax_bottom_vec_, softmax_top_vec_);

  const caffe::LossParameter& lp = this->layer_param_.loss_param();
  has_ignore_label_ = lp.has_ignore_label();
  if (has_ignore_label_) ignore_label_ = lp.ignore_label();
  normalization_ = LossLayer<Dtype>::NormalizationOf(lp);
}

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                          const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  softmax_bottom_vec_[0] = bottom[0];
  softmax_layer_->Reshape(softmax_bottom_vec_, softmax_top_vec_);
  softmax_axis_ = bottom[0]->CanonicalAxisIndex(this->layer_param_.softmax_param().axis());
  outer_num_ = bottom[0]->count(0, softmax_axis_);
  inner_num_ = bottom[0]->count(softmax_axis_ + 1);
  REQUIRE(outer_num_ * inner_num_ == bottom[1]->count())
      << "SoftmaxWithLoss: number of labels (" << bottom[1]->count()
      << ") must match number of predictions (" << outer_num_ * inner_num_
      << "); e.g., if softmax axis == 1 and prediction shape is (N, C, H, W), label count "
      << "must be N*H*W, with integer values in {0, 1, ..., C-1}";
  if (top.size() >= 2) top[1]->ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                              const std::vector<Blob<Dtype>*>& top) {
  softmax_layer_->Forward(softmax_bottom_vec_, softmax_top_vec_);
  const Dtype* prob = prob_.cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  const int channels = bottom[0]->shape(softmax_axis_);
  // A batch of 0 has no items (dividing by its 0 was a SIGFPE): the loss is
  // 0 (the normalizer is at least 1) and there is no gradient.
  const int dim = outer_num_ == 0 ? 0 : prob_.count() / outer_num_;
  int count = 0;
  Dtype loss = 0;
  for (int i = 0; i < outer_num_; ++i) {
    for (int j = 0; j < inner_num_; ++j) {
      const int label_value = static_cast<int>(label[i * inner_num_ + j]);
      if (has_ignore_label_ && label_value == ignore_label_) continue;
      REQUIRE(label_value >= 0 && label_value < channels)
          << "SoftmaxWithLoss: label " << label_value << " out of range [0, " << channels << ")";
      loss -= std::log(std::max(prob[i * dim + label_value * inner_num_ + j], Dtype(FLT_MIN)));
      ++count;
    }
  }
  normalizer_ = LossLayer<Dtype>::GetNormalizer(normalization_, outer_num_, inner_num_, count);
  top[0]->mutable_cpu_data()[0] = loss / normalizer_;
  if (top.size() == 2) top[1]->ShareData(prob_);
}

template <typename Dtype>
void SoftmaxWithLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                               const std::vector<bool>& propagate_down,
                                               const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1]) << "SoftmaxWithLoss layer cannot backpropagate to label inputs";
  if (!propagate_down[0]) return;
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const Dtype* prob = prob_.cpu_data();
  caffe_copy(prob_.count(), prob, bottom_diff);
  const Dtype* label = bottom[1]->cpu_data();
  const int channels = bottom[0]->shape(softmax_axis_);
  const int dim = outer_num_ == 0 ? 0 : prob_.count() / outer_num_;
  // d(-log p_label)/dx_c = p_c - [c == label]
  for (int i = 0; i < outer_num_; ++i) {
    for (int j = 0; j < inner_num_; ++j) {
      const int label_value = static_cast<int>(label[i * inner_num_ + j]);
      if (has_ignore_label_ && label_value == ignore_label_) {
        for (int c = 0; c < channels; ++c) bottom_diff[i * dim + c * inner_num_ + j] = 0;
      } else {
        bottom_diff[i * dim + label_value * inner_num_ + j] -= 1;
      }
    }
  }
  const Dtype loss_weight = top[0]->cpu_diff()[0] / normalizer_;
  caffe_scal(prob_.count(), loss_weight, bottom_diff);
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SoftmaxWithLossLayer)
#endif

INSTANTIATE_CLASS(SoftmaxWithLossLayer);
REGISTER_LAYER_CLASS(SoftmaxWithLoss);

}  // namespace deepspark
