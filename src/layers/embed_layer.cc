#include "deepspark/layers/embed_layer.hpp"

#include <cmath>

#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/bias_layer.hpp"  // broadcast::FitStoredBlob

namespace deepspark {

template <typename Dtype>
void EmbedLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const caffe::EmbedParameter& p = this->layer_param_.embed_param();
  num_output_ = static_cast<int>(p.num_output());
  input_dim_ = static_cast<int>(p.input_dim());
  bias_term_ = p.bias_term();
  REQUIRE(num_output_ > 0) << "Embed: embed_param.num_output must be positive";
  REQUIRE(input_dim_ > 0) << "Embed: embed_param.input_dim must be positive";
  const std::vector<int> w_shape{input_dim_, num_output_};
  const std::vector<int> b_shape{num_output_};
  if (!this->blobs_.empty()) {
    REQUIRE(this->blobs_.size() == (bias_term_ ? 2u : 1u))
        << "Embed: " << this->blobs_.size() << " stored blob(s), expected " << (bias_term_ ? 2 : 1);
    REQUIRE(broadcast::FitStoredBlob(this->blobs_[0].get(), w_shape))
        << "Embed: stored weights have shape " << this->blobs_[0]->shape_string() << ", expected "
        << input_dim_ << " x " << num_output_;
    if (bias_term_) {
      REQUIRE(broadcast::FitStoredBlob(this->blobs_[1].get(), b_shape))
          << "Embed: stored bias has shape " << this->blobs_[1]->shape_string() << ", expected "
          << num_output_;
    }
  } else {
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>(w_shape));
    GetFiller<Dtype>(p.weight_filler())->Fill(this->blobs_[0].get());
    if (bias_term_) {
      this->blobs_.push_back(std::make_shared<Blob<Dtype>>(b_shape));
      GetFiller<Dtype>(p.bias_filler())->Fill(this->blobs_[1].get());
    }
  }
  for (size_t i = 0; i < this->blobs_.size(); ++i) {
    this->set_param_propagate_down(static_cast<int>(i), true);
  }
}

template <typename Dtype>
void EmbedLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  std::vector<int> shape = bottom[0]->shape();
  shape.push_back(num_output_);
  top[0]->Reshape(shape);
}

template <typename Dtype>
int EmbedLayer<Dtype>::Index(Dtype v) const {
  REQUIRE(v == std::floor(v) && v >= 0 && v < input_dim_)
      << "Embed: bottom value " << v << " is not an integer index in [0, " << input_dim_ << ")";
  return static_cast<int>(v);
}

template <typename Dtype>
void EmbedLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* w = this->blobs_[0]->cpu_data();
  const Dtype* b = bias_term_ ? this->blobs_[1]->cpu_data() : nullptr;
  Dtype* y = top[0]->mutable_cpu_data();
  for (int n = 0; n < bottom[0]->count(); ++n) {
    const Dtype* row = w + Index(x[n]) * num_output_;
    Dtype* out = y + n * num_output_;
    for (int k = 0; k < num_output_; ++k) out[k] = row[k] + (b ? b[k] : Dtype(0));
  }
}

template <typename Dtype>
void EmbedLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[0]) << "Embed: cannot backpropagate to the indices";
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* dy = top[0]->cpu_diff();
  if (this->param_propagate_down(0)) {
    Dtype* dw = this->blobs_[0]->mutable_cpu_diff();
    for (int n = 0; n < bottom[0]->count(); ++n) {
      caffe_axpy(num_output_, Dtype(1), dy + n * num_output_, dw + Index(x[n]) * num_output_);
    }
  }
  if (bias_term_ && this->param_propagate_down(1)) {
    Dtype* db = this->blobs_[1]->mutable_cpu_diff();
    for (int n = 0; n < bottom[0]->count(); ++n) {
      caffe_axpy(num_output_, Dtype(1), dy + n * num_output_, db);
    }
  }
}

INSTANTIATE_CLASS(EmbedLayer);
REGISTER_LAYER_CLASS(Embed);

}  // namespace deepspark
