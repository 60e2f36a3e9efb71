#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
Layer<Dtype>::Layer(const caffe::LayerParameter& param) : layer_param_(param) {
  phase_ = param.phase();
  if (layer_param_.blobs_size() > 0) {
    blobs_.resize(layer_param_.blobs_size());
    for (int i = 0; i < layer_param_.blobs_size(); ++i) {
      blobs_[i] = std::make_shared<Blob<Dtype>>();
      blobs_[i]->FromProto(layer_param_.blobs(i));
    }
  }
}

template <typename Dtype>
void Layer<Dtype>::SetUp(const std::vector<Blob<Dtype>*>& bottom,
                         const std::vector<Blob<Dtype>*>& top) {
  CheckBlobCounts(bottom, top);
  LayerSetUp(bottom, top);
  Reshape(bottom, top);
  SetLossWeights(top);
}

template <typename Dtype>
Dtype Layer<Dtype>::Forward(const std::vector<Blob<Dtype>*>& bottom,
                            const std::vector<Blob<Dtype>*>& top) {
  Dtype loss = 0;
  Reshape(bottom, top);
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    Forward_gpu(bottom, top);
  } else {
    Forward_cpu(bottom, top);
  }
  for (size_t top_id = 0; top_id < top.size(); ++top_id) {
    if (!this->loss(top_id)) continue;
    const int count = top[top_id]->count();
    loss += caffe_cpu_dot(count, top[top_id]->cpu_data(), top[top_id]->cpu_diff());
  }
  return loss;
}

template <typename Dtype>
void Layer<Dtype>::Backward(const std::vector<Blob<Dtype>*>& top,
                            const std::vector<bool>& propagate_down,
                            const std::vector<Blob<Dtype>*>& bottom) {
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    Backward_gpu(top, propagate_down, bottom);
  } else {
    Backward_cpu(top, propagate_down, bottom);
  }
}

template <typename Dtype>
void Layer<Dtype>::ToProto(caffe::LayerParameter* param, bool write_diff) {
  param->Clear();
  param->CopyFrom(layer_param_);
  param->clear_blobs();
  for (auto& blob : blobs_) blob->ToProto(param->add_blobs(), write_diff);
}

template <typename Dtype>
void Layer<Dtype>::CheckBlobCounts(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const int nb = static_cast<int>(bottom.size());
  const int nt = static_cast<int>(top.size());
  if (ExactNumBottomBlobs() >= 0) {
    REQUIRE(ExactNumBottomBlobs() == nb) << type() << " layer takes " << ExactNumBottomBlobs()
                                         << " bottom blob(s) as input, got " << nb;
  }
  if (MinBottomBlobs() >= 0) {
    REQUIRE(MinBottomBlobs() <= nb) << type() << " layer takes at least " << MinBottomBlobs()
                                    << " bottom blob(s) as input, got " << nb;
  }
  if (MaxBottomBlobs() >= 0) {
    REQUIRE(MaxBottomBlobs() >= nb) << type() << " layer takes at most " << MaxBottomBlobs()
                                    << " bottom blob(s) as input, got " << nb;
  }
  if (ExactNumTopBlobs() >= 0) {
    REQUIRE(ExactNumTopBlobs() == nt) << type() << " layer produces " << ExactNumTopBlobs()
                                      << " top blob(s) as output, got " << nt;
  }
  if (MinTopBlobs() >= 0) {
    REQUIRE(MinTopBlobs() <= nt) << type() << " layer produces at least " << MinTopBlobs()
                                 << " top blob(s) as output, got " << nt;
  }
  if (MaxTopBlobs() >= 0) {
    REQUIRE(MaxTopBlobs() >= nt) << type() << " layer produces at most " << MaxTopBlobs()
                                 << " top blob(s) as output, got " << nt;
  }
  if (EqualNumBottomTopBlobs()) {
    REQUIRE(nb == nt) << type() << " layer produces one top blob as output for each bottom "
                      << "blob input (" << nb << " bottoms, " << nt << " tops)";
  }
}

template <typename Dtype>
void Layer<Dtype>::SetLossWeights(const std::vector<Blob<Dtype>*>& top) {
  const int num_loss_weights = layer_param_.loss_weight_size();
  if (num_loss_weights) {
    REQUIRE(static_cast<int>(top.size()) == num_loss_weights)
        << "loss_weight must be unspecified or specified once per top blob (" << num_loss_weights
        << " given for " << top.size() << " tops)";
    for (int top_id = 0; top_id < static_cast<int>(top.size()); ++top_id) {
      const Dtype loss_weight = layer_param_.loss_weight(top_id);
      if (loss_weight == Dtype(0)) continue;
      set_loss(top_id, loss_weight);
      caffe_set(top[top_id]->count(), loss_weight, top[top_id]->mutable_cpu_diff());
    }
  }
}

INSTANTIATE_CLASS(Layer);

}  // namespace deepspark
