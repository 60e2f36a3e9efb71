#include "deepspark/layers/infogain_loss_layer.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

namespace {
constexpr double kLogThreshold = 1e-20;  // keeps log(p) finite
}  // namespace

template <typename Dtype>
void InfogainLossLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                          const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::LayerSetUp(bottom, top);
  caffe::LayerParameter softmax_param;
  softmax_param.set_type("Softmax");
  softmax_param.mutable_softmax_param()->set_axis(this->layer_param_.infogain_loss_param().axis());
  softmax_layer_ = std::make_unique<SoftmaxLayer<Dtype>>(softmax_param);
  softmax_bottom_vec_ = {bottom[0]};
  softmax_top_vec_ = {&prob_};
  softmax_layer_->SetUp(softmax_bottom_vec_, softmax_top_vec_);

  const caffe::LossParameter& lp = this->layer_param_.loss_param();
  has_ignore_label_ = lp.has_ignore_label();
  if (has_ignore_label_) ignore_label_ = lp.ignore_label();
  normalization_ = LossLayer<Dtype>::NormalizationOf(lp);
  if (bottom.size() < 3) {
    const caffe::InfogainLossParameter& ip = this->layer_param_.infogain_loss_param();
    REQUIRE(ip.has_source()) << "InfogainLoss: give the infogain matrix H as a third bottom or "
                             << "as infogain_loss_param { source: \"H.binaryproto\" }";
    caffe::BlobProto blob_proto;
    // Read here rather than through io.hpp: H is a small, plain BlobProto.
    std::ifstream in(ip.source(), std::ios::binary);
    REQUIRE(in.good()) << "InfogainLoss: cannot open infogain matrix file " << ip.source();
    REQUIRE(blob_proto.ParseFromIstream(&in))
        << "InfogainLoss: " << ip.source() << " is not a binary BlobProto";
    infogain_.FromProto(blob_proto);
  }
}

template <typename Dtype>
void InfogainLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  softmax_bottom_vec_[0] = bottom[0];
  softmax_layer_->Reshape(softmax_bottom_vec_, softmax_top_vec_);
  infogain_axis_ = bottom[0]->CanonicalAxisIndex(this->layer_param_.infogain_loss_param().axis());
  outer_num_ = bottom[0]->count(0, infogain_axis_);
  inner_num_ = bottom[0]->count(infogain_axis_ + 1);
  num_labels_ = bottom[0]->shape(infogain_axis_);
  REQUIRE(outer_num_ * inner_num_ == bottom[1]->count())
      << "InfogainLoss: number of labels (" << bottom[1]->count()
      << ") must match number of predictions (" << outer_num_ * inner_num_ << ")";
  REQUIRE(H(bottom).count() == num_labels_ * num_labels_)
      << "InfogainLoss: the infogain matrix must be " << num_labels_ << " x " << num_labels_
      << ", got " << H(bottom).shape_string();
  if (top.size() >= 2) top[1]->ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void InfogainLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                           const std::vector<Blob<Dtype>*>& top) {
  softmax_layer_->Forward(softmax_bottom_vec_, softmax_top_vec_);
  const Dtype* prob = prob_.cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  const Dtype* h = H(bottom).cpu_data();
  // A batch of 0 has no items (dividing by its 0 was a SIGFPE): the loss is
  // 0 (the normalizer is at least 1) and there is no gradient.
  const int dim = outer_num_ == 0 ? 0 : prob_.count() / outer_num_;
  int count = 0;
  Dtype loss = 0;
  for (int i = 0; i < outer_num_; ++i) {
    for (int j = 0; j < inner_num_; ++j) {
      const int l = static_cast<int>(label[i * inner_num_ + j]);
      if (has_ignore_label_ && l == ignore_label_) continue;
      REQUIRE(l >= 0 && l < num_labels_)
          << "InfogainLoss: label " << l << " out of range [0, " << num_labels_ << ")";
      for (int c = 0; c < num_labels_; ++c) {
        loss -= h[l * num_labels_ + c] *
                std::log(std::max(prob[i * dim + c * inner_num_ + j], Dtype(kLogThreshold)));
      }
      ++count;
    }
  }
  normalizer_ = LossLayer<Dtype>::GetNormalizer(normalization_, outer_num_, inner_num_, count);
  top[0]->mutable_cpu_data()[0] = loss / normalizer_;
  if (top.size() == 2) top[1]->ShareData(prob_);
}

template <typename Dtype>
void InfogainLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                            const std::vector<bool>& propagate_down,
                                            const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1]) << "InfogainLoss layer cannot backpropagate to label inputs";
  REQUIRE(bottom.size() < 3 || !propagate_down[2])
      << "InfogainLoss layer cannot backpropagate to the infogain matrix";
  if (!propagate_down[0]) return;
  const Dtype* prob = prob_.cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  const Dtype* h = H(bottom).cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int dim = outer_num_ == 0 ? 0 : prob_.count() / outer_num_;
  sum_rows_H_.assign(num_labels_, Dtype(0));
  for (int r = 0; r < num_labels_; ++r) {
    for (int c = 0; c < num_labels_; ++c) sum_rows_H_[r] += h[r * num_labels_ + c];
  }
  // d/dx_c of -sum_l H[y,l] log p_l = p_c * sum_l H[y,l] - H[y,c]
  for (int i = 0; i < outer_num_; ++i) {
    for (int j = 0; j < inner_num_; ++j) {
      const int l = static_cast<int>(label[i * inner_num_ + j]);
      const bool ignored = has_ignore_label_ && l == ignore_label_;
      for (int c = 0; c < num_labels_; ++c) {
        const int idx = i * dim + c * inner_num_ + j;
        bottom_diff[idx] = ignored ? Dtype(0) : prob[idx] * sum_rows_H_[l] - h[l * num_labels_ + c];
      }
    }
  }
  caffe_scal(prob_.count(), top[0]->cpu_diff()[0] / normalizer_, bottom_diff);
}

INSTANTIATE_CLASS(InfogainLossLayer);
REGISTER_LAYER_CLASS(InfogainLoss);

}  // namespace deepspark
