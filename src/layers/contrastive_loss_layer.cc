#include "deepspark/layers/contrastive_loss_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

namespace {
// Keeps the dissimilar-pair gradient finite when a == b.
constexpr double kDistEpsilon = 1e-4;
}  // namespace

template <typename Dtype>
void ContrastiveLossLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                          const std::vector<Blob<Dtype>*>& top) {
  LossLayer<Dtype>::Reshape(bottom, top);
  const int num = bottom[0]->shape(0);
  REQUIRE(bottom[0]->shape() == bottom[1]->shape())
      << "ContrastiveLoss: the two inputs must have the same shape (" << bottom[0]->shape_string()
      << " vs " << bottom[1]->shape_string() << ")";
  REQUIRE(bottom[0]->count(1) == bottom[0]->channels())
      << "ContrastiveLoss: inputs must be (N, C, 1, 1), got " << bottom[0]->shape_string();
  REQUIRE(bottom[2]->count() == num && bottom[2]->shape(0) == num)
      << "ContrastiveLoss: the similarity input must hold one value per pair (N = " << num
      << "), got " << bottom[2]->shape_string();
  diff_.ReshapeLike(*bottom[0]);
  dist_sq_.Reshape(std::vector<int>{num});
}

template <typename Dtype>
void ContrastiveLossLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                              const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  const int num = bottom[0]->shape(0);
  const int channels = bottom[0]->channels();
  caffe_sub(count, bottom[0]->cpu_data(), bottom[1]->cpu_data(), diff_.mutable_cpu_data());
  const caffe::ContrastiveLossParameter& p = this->layer_param_.contrastive_loss_param();
  const Dtype margin = p.margin();
  const Dtype* y = bottom[2]->cpu_data();
  const Dtype* diff = diff_.cpu_data();
  Dtype* dist_sq = dist_sq_.mutable_cpu_data();
  Dtype loss = 0;
  for (int i = 0; i < num; ++i) {
    dist_sq[i] = caffe_cpu_dot(channels, diff + i * channels, diff + i * channels);
    if (static_cast<int>(y[i])) {  // similar pair
      loss += dist_sq[i];
    } else if (p.legacy_version()) {
      loss += std::max(margin - dist_sq[i], Dtype(0));
    } else {
      const Dtype m = std::max(margin - std::sqrt(dist_sq[i]), Dtype(0));
      loss += m * m;
    }
  }
  // A batch of 0: loss 0, not 0 / 0 (a NaN that would read as divergence).
  top[0]->mutable_cpu_data()[0] = num == 0 ? Dtype(0) : loss / num / Dtype(2);
}

template <typename Dtype>
void ContrastiveLossLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                               const std::vector<bool>& propagate_down,
                                               const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[2])
      << "ContrastiveLoss layer cannot backpropagate to the similarity input";
  const caffe::ContrastiveLossParameter& p = this->layer_param_.contrastive_loss_param();
  const Dtype margin = p.margin();
  const int num = bottom[0]->shape(0);
  const int channels = bottom[0]->channels();
  const Dtype* y = bottom[2]->cpu_data();
  const Dtype* diff = diff_.cpu_data();
  const Dtype* dist_sq = dist_sq_.cpu_data();
  for (int b = 0; b < 2; ++b) {
    if (!propagate_down[b]) continue;
    const Dtype sign = (b == 0) ? 1 : -1;
    const Dtype alpha = sign * top[0]->cpu_diff()[0] / num;
    Dtype* bottom_diff = bottom[b]->mutable_cpu_diff();
    for (int i = 0; i < num; ++i) {
      Dtype* out = bottom_diff + i * channels;
      const Dtype* d = diff + i * channels;
      if (static_cast<int>(y[i])) {
        caffe_cpu_axpby(channels, alpha, d, Dtype(0), out);
        continue;
      }
      Dtype mdist, beta;
      if (p.legacy_version()) {
        mdist = margin - dist_sq[i];
        beta = -alpha;
      } else {
        const Dtype dist = std::sqrt(dist_sq[i]);
        mdist = margin - dist;
        beta = -alpha * mdist / (dist + Dtype(kDistEpsilon));
      }
      if (mdist > Dtype(0)) {
        caffe_cpu_axpby(channels, beta, d, Dtype(0), out);
      } else {
        caffe_set(channels, Dtype(0), out);
      }
    }
  }
}

INSTANTIATE_CLASS(ContrastiveLossLayer);
REGISTER_LAYER_CLASS(ContrastiveLoss);

}  // namespace deepspark
