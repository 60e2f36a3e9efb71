#include "deepspark/layers/scale_layer.hpp"

#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/bias_layer.hpp"

namespace deepspark {

template <typename Dtype>
void ScaleLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const caffe::ScaleParameter& p = this->layer_param_.scale_param();
  // With 2 bottoms the factor's shape comes from bottom[1] (checked in Reshape).
  const std::vector<int> shape =
      bottom.size() == 1
          ? broadcast::ParamShape(bottom[0]->shape(), p.axis(), p.num_axes(), "Scale")
          : bottom[1]->shape();
  const size_t expected = (bottom.size() == 1 ? 1 : 0) + (p.bias_term() ? 1 : 0);
  bias_param_id_ = p.bias_term() ? static_cast<int>(expected) - 1 : -1;
  if (!this->blobs_.empty()) {
    REQUIRE(this->blobs_.size() == expected)
        << "Scale: " << this->blobs_.size() << " stored blob(s), expected " << expected;
    for (auto& blob : this->blobs_) {
      REQUIRE(broadcast::FitStoredBlob(blob.get(), shape))
          << "Scale: stored blob of shape " << blob->shape_string()
          << " does not match the factor's shape (from axis " << p.axis() << ")";
    }
  } else {
    if (bottom.size() == 1) {
      this->blobs_.push_back(std::make_shared<Blob<Dtype>>(shape));
      caffe::FillerParameter filler = p.filler();
      if (!p.has_filler()) {
        filler.set_type("constant");
        filler.set_value(1);
      }
      GetFiller<Dtype>(filler)->Fill(this->blobs_[0].get());
    }
    if (p.bias_term()) {
      // The bias matches the factor's shape (bottom[1]'s with 2 bottoms).
      this->blobs_.push_back(std::make_shared<Blob<Dtype>>(shape));
      GetFiller<Dtype>(p.bias_filler())->Fill(this->blobs_.back().get());
    }
  }
  for (size_t i = 0; i < this->blobs_.size(); ++i) {
    this->set_param_propagate_down(static_cast<int>(i), true);
  }
}

template <typename Dtype>
void ScaleLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  const Blob<Dtype>* scale = bottom.size() > 1 ? bottom[1] : this->blobs_[0].get();
  broadcast::Dims(bottom[0]->shape(), scale->shape(), this->layer_param_.scale_param().axis(),
                  "Scale", &outer_dim_, &scale_dim_, &inner_dim_);
  if (bias_param_id_ >= 0) {
    REQUIRE(this->blobs_[bias_param_id_]->count() == scale_dim_)
        << "Scale: bias blob of shape " << this->blobs_[bias_param_id_]->shape_string()
        << " does not match the scale's " << scale_dim_ << " elements";
  }
  if (bottom[0] == top[0]) {
    bottom_copy_.ReshapeLike(*bottom[0]);
  } else {
    top[0]->ReshapeLike(*bottom[0]);
  }
}

template <typename Dtype>
void ScaleLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  if (bottom[0] == top[0]) {
    // Backward needs the input to compute the scale's gradient.
    caffe_copy(bottom[0]->count(), bottom[0]->cpu_data(), bottom_copy_.mutable_cpu_data());
  }
  const Dtype* scale = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->cpu_data();
  const Dtype* bias = bias_param_id_ >= 0 ? this->blobs_[bias_param_id_]->cpu_data() : nullptr;
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  for (int o = 0; o < outer_dim_; ++o) {
    for (int d = 0; d < scale_dim_; ++d) {
      const int off = (o * scale_dim_ + d) * inner_dim_;
      const Dtype s = scale[d];
      const Dtype b = bias ? bias[d] : Dtype(0);
      for (int i = 0; i < inner_dim_; ++i) y[off + i] = x[off + i] * s + b;
    }
  }
}

template <typename Dtype>
void ScaleLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const Dtype* dy = top[0]->cpu_diff();
  // Parameter gradients first: in place, the bottom diff overwrites dy.
  if (bias_param_id_ >= 0 && this->param_propagate_down(bias_param_id_)) {
    Dtype* db = this->blobs_[bias_param_id_]->mutable_cpu_diff();
    for (int o = 0; o < outer_dim_; ++o) {
      for (int d = 0; d < scale_dim_; ++d) {
        const int off = (o * scale_dim_ + d) * inner_dim_;
        Dtype sum = 0;
        for (int i = 0; i < inner_dim_; ++i) sum += dy[off + i];
        db[d] += sum;
      }
    }
  }
  const bool scale_param = bottom.size() == 1;
  Blob<Dtype>* scale = scale_param ? this->blobs_[0].get() : bottom[1];
  if ((scale_param && this->param_propagate_down(0)) || (!scale_param && propagate_down[1])) {
    const Dtype* x = bottom[0] == top[0] ? bottom_copy_.cpu_data() : bottom[0]->cpu_data();
    Dtype* ds = scale->mutable_cpu_diff();
    // A learned blob accumulates its gradient; a bottom's diff is overwritten.
    if (!scale_param) caffe_set(scale_dim_, Dtype(0), ds);
    for (int o = 0; o < outer_dim_; ++o) {
      for (int d = 0; d < scale_dim_; ++d) {
        const int off = (o * scale_dim_ + d) * inner_dim_;
        Dtype sum = 0;
        for (int i = 0; i < inner_dim_; ++i) sum += dy[off + i] * x[off + i];
        ds[d] += sum;
      }
    }
  }
  if (propagate_down[0]) {
    const Dtype* s = scale->cpu_data();
    Dtype* dx = bottom[0]->mutable_cpu_diff();
    for (int o = 0; o < outer_dim_; ++o) {
      for (int d = 0; d < scale_dim_; ++d) {
        const int off = (o * scale_dim_ + d) * inner_dim_;
        for (int i = 0; i < inner_dim_; ++i) dx[off + i] = dy[off + i] * s[d];
      }
    }
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ScaleLayer)
#endif

INSTANTIATE_CLASS(ScaleLayer);
REGISTER_LAYER_CLASS(Scale);

}  // namespace deepspark
