#include "deepspark/layers/accuracy_layer.hpp"

#include <algorithm>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void AccuracyLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const caffe::AccuracyParameter& p = this->layer_param_.accuracy_param();
  top_k_ = static_cast<int>(p.top_k());
  REQUIRE(top_k_ >= 1) << "Accuracy layer: top_k must be at least 1";
  has_ignore_label_ = p.has_ignore_label();
  if (has_ignore_label_) ignore_label_ = p.ignore_label();
}

template <typename Dtype>
void AccuracyLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int axis = this->layer_param_.accuracy_param().axis();
  const int num_axes = bottom[0]->num_axes();
  REQUIRE(axis >= -num_axes && axis < num_axes)
      << "Accuracy layer: axis " << axis << " out of range for bottom "
      << bottom[0]->shape_string();
  label_axis_ = bottom[0]->CanonicalAxisIndex(axis);
  outer_num_ = bottom[0]->count(0, label_axis_);
  inner_num_ = bottom[0]->count(label_axis_ + 1);
  const int num_labels = bottom[0]->shape(label_axis_);
  REQUIRE(top_k_ <= num_labels) << "Accuracy layer: top_k (" << top_k_
                                << ") must be less than or equal to the number of classes ("
                                << num_labels << ")";
  REQUIRE(outer_num_ * inner_num_ == bottom[1]->count())
      << "Accuracy layer: number of labels (" << bottom[1]->count()
      << ") must match number of predictions (" << outer_num_ * inner_num_
      << "); e.g., if label axis == 1 and prediction shape is (N, C, H, W), label count "
      << "must be N*H*W, with integer values in {0, 1, ..., C-1}";
  top[0]->Reshape(std::vector<int>());
  if (top.size() > 1) top[1]->Reshape(std::vector<int>(1, num_labels));
  nums_buffer_.assign(num_labels, 0);
}

template <typename Dtype>
void AccuracyLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  const Dtype* scores = bottom[0]->cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  // A batch of 0 has no items (dividing by its 0 was a SIGFPE): accuracy 0.
  const int dim = outer_num_ == 0 ? 0 : bottom[0]->count() / outer_num_;
  const int num_labels = bottom[0]->shape(label_axis_);
  Dtype* per_class = nullptr;
  if (top.size() > 1) {
    per_class = top[1]->mutable_cpu_data();
    caffe_set(num_labels, Dtype(0), per_class);
    std::fill(nums_buffer_.begin(), nums_buffer_.end(), 0);
  }
  int count = 0;
  Dtype accuracy = 0;
  for (int i = 0; i < outer_num_; ++i) {
    for (int j = 0; j < inner_num_; ++j) {
      const int label_value = static_cast<int>(label[i * inner_num_ + j]);
      if (has_ignore_label_ && label_value == ignore_label_) continue;
      REQUIRE(label_value >= 0 && label_value < num_labels)
          << "Accuracy layer: label " << label_value << " out of range [0, " << num_labels << ")";
      if (per_class) ++nums_buffer_[label_value];
      const Dtype true_score = scores[i * dim + label_value * inner_num_ + j];
      // The true class itself scores >= itself; start at -1 to not count it.
      int num_better = -1;
      for (int k = 0; k < num_labels && num_better < top_k_; ++k) {
        num_better += (scores[i * dim + k * inner_num_ + j] >= true_score);
      }
      if (num_better < top_k_) {
        ++accuracy;
        if (per_class) ++per_class[label_value];
      }
      ++count;
    }
  }
  top[0]->mutable_cpu_data()[0] = (count == 0) ? Dtype(0) : accuracy / count;
  if (per_class) {
    for (int c = 0; c < num_labels; ++c) {
      per_class[c] = nums_buffer_[c] == 0 ? Dtype(0) : per_class[c] / nums_buffer_[c];
    }
  }
}

template <typename Dtype>
void AccuracyLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob<Dtype>*>& bottom) {
  for (bool down : propagate_down) {
    REQUIRE(!down) << "Accuracy layer cannot backpropagate (it is a metric)";
  }
}

INSTANTIATE_CLASS(AccuracyLayer);
REGISTER_LAYER_CLASS(Accuracy);

}  // namespace deepspark
