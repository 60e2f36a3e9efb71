#include "deepspark/layers/parameter_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ParameterLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  if (this->blobs_.empty()) {
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>());
    this->blobs_[0]->Reshape(this->layer_param_.parameter_param().shape());
    caffe_set(this->blobs_[0]->count(), Dtype(0), this->blobs_[0]->mutable_cpu_data());
  } else {
    REQUIRE(this->blobs_.size() == 1)
        << "Parameter: " << this->blobs_.size() << " stored blobs, expected 1";
  }
  this->set_param_propagate_down(0, true);
  top[0]->ReshapeLike(*this->blobs_[0]);
  top[0]->ShareData(*this->blobs_[0]);
  top[0]->ShareDiff(*this->blobs_[0]);
}

template <typename Dtype>
void ParameterLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  top[0]->ShareData(*this->blobs_[0]);
  top[0]->ShareDiff(*this->blobs_[0]);
}

INSTANTIATE_CLASS(ParameterLayer);
REGISTER_LAYER_CLASS(Parameter);

}  // namespace deepspark
