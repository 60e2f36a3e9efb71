#include "deepspark/layers/prelu_layer.hpp"

#include <algorithm>

#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void PReLULayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 2) << "PReLU layer needs a bottom with at least 2 axes "
                                      << "(N, C, ...), got " << bottom[0]->shape_string();
  const caffe::PReLUParameter& p = this->layer_param_.prelu_param();
  channel_shared_ = p.channel_shared();
  const int channels = bottom[0]->channels();
  const std::vector<int> slope_shape =
      channel_shared_ ? std::vector<int>() : std::vector<int>(1, channels);
  if (this->blobs_.empty()) {
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>(slope_shape));
    caffe::FillerParameter filler_param;
    if (p.has_filler()) {
      filler_param = p.filler();
    } else {
      filler_param.set_type("constant");
      filler_param.set_value(0.25f);
    }
    GetFiller<Dtype>(filler_param)->Fill(this->blobs_[0].get());
  } else {
    REQUIRE(this->blobs_.size() == 1u)
        << "PReLU layer expects 1 parameter blob, got " << this->blobs_.size();
    REQUIRE(this->blobs_[0]->count() == (channel_shared_ ? 1 : channels))
        << "PReLU layer: slope blob " << this->blobs_[0]->shape_string() << " does not match "
        << (channel_shared_ ? "channel_shared (1 slope)" : "the bottom's channel count")
        << " for bottom " << bottom[0]->shape_string();
  }
  this->param_propagate_down_.assign(this->blobs_.size(), true);
}

template <typename Dtype>
void PReLULayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 2) << "PReLU layer needs a bottom with at least 2 axes "
                                      << "(N, C, ...), got " << bottom[0]->shape_string();
  NeuronLayer<Dtype>::Reshape(bottom, top);
  if (bottom[0] == top[0]) bottom_memory_.ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void PReLULayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const int count = bottom[0]->count();
  const int dim = bottom[0]->count(2);
  const int channels = bottom[0]->channels();
  const int div_factor = channel_shared_ ? channels : 1;
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const Dtype* slope = this->blobs_[0]->cpu_data();
  // In place, keep x for the backward pass.
  if (bottom[0] == top[0]) caffe_copy(count, x, bottom_memory_.mutable_cpu_data());
  for (int i = 0; i < count; ++i) {
    const int c = (i / dim) % channels / div_factor;
    y[i] = std::max(x[i], Dtype(0)) + slope[c] * std::min(x[i], Dtype(0));
  }
}

template <typename Dtype>
void PReLULayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  const int dim = bottom[0]->count(2);
  const int channels = bottom[0]->channels();
  const int div_factor = channel_shared_ ? channels : 1;
  const Dtype* x = (bottom[0] == top[0]) ? bottom_memory_.cpu_data() : bottom[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  // The slope gradient first: in place, the bottom diff overwrites top diff.
  if (this->param_propagate_down(0)) {
    Dtype* slope_diff = this->blobs_[0]->mutable_cpu_diff();
    for (int i = 0; i < count; ++i) {
      const int c = (i / dim) % channels / div_factor;
      slope_diff[c] += top_diff[i] * x[i] * (x[i] <= 0);
    }
  }
  if (propagate_down[0]) {
    const Dtype* slope = this->blobs_[0]->cpu_data();
    Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
    for (int i = 0; i < count; ++i) {
      const int c = (i / dim) % channels / div_factor;
      bottom_diff[i] = top_diff[i] * ((x[i] > 0) + slope[c] * (x[i] <= 0));
    }
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(PReLULayer)
#endif

INSTANTIATE_CLASS(PReLULayer);
REGISTER_LAYER_CLASS(PReLU);

}  // namespace deepspark
