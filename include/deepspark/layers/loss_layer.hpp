// LossLayer: base of the loss layers. Bottom 0: predictions; bottom 1:
// targets/labels with the same first dimension (outer count). Top 0: the
// scalar loss (0 axes). A loss layer with no loss_weight in its parameter
// gets loss_weight 1 on top 0 (written into the layer parameter, so it is
// saved with the model, as Caffe does); extra tops get 0.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <algorithm>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class LossLayer : public Layer<Dtype> {
 public:
  explicit LossLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}

  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override {
    if (this->layer_param_.loss_weight_size() == 0) {
      this->layer_param_.add_loss_weight(1.f);
      // Caffe rejects a 2-top loss layer without explicit weights; we accept
      // it, with the secondary tops (e.g. prob) not counted in the loss.
      for (size_t i = 1; i < top.size(); ++i) this->layer_param_.add_loss_weight(0.f);
    }
  }
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    REQUIRE(bottom[0]->num_axes() > 0 && bottom[1]->num_axes() > 0 &&
            bottom[0]->shape(0) == bottom[1]->shape(0))
        << type_name() << ": the data and label should have the same first dimension (data "
        << bottom[0]->shape_string() << ", label " << bottom[1]->shape_string() << ")";
    top[0]->Reshape(std::vector<int>());
  }

  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  // The Net creates the loss top if the prototxt names none.
  bool AutoTopBlobs() const override { return true; }
  // Labels get no gradient.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

 protected:
  const char* type_name() const { return this->type()[0] ? this->type() : "Loss layer"; }

  // loss_param's normalization, or the deprecated `normalize` (true = VALID,
  // false = BATCH_SIZE) when normalization is unset.
  static caffe::LossParameter::NormalizationMode NormalizationOf(const caffe::LossParameter& lp) {
    if (!lp.has_normalization() && lp.has_normalize()) {
      return lp.normalize() ? caffe::LossParameter::VALID : caffe::LossParameter::BATCH_SIZE;
    }
    return lp.normalization();
  }

  // The divisor of the summed loss for a normalization mode; valid_count < 0
  // means "all positions are valid". Never less than 1.
  static Dtype GetNormalizer(caffe::LossParameter::NormalizationMode mode, int outer_num,
                             int inner_num, int valid_count) {
    Dtype normalizer = 1;
    switch (mode) {
      case caffe::LossParameter::FULL:
        normalizer = Dtype(outer_num * inner_num);
        break;
      case caffe::LossParameter::VALID:
        normalizer = Dtype(valid_count < 0 ? outer_num * inner_num : valid_count);
        break;
      case caffe::LossParameter::BATCH_SIZE:
        normalizer = Dtype(outer_num);
        break;
      case caffe::LossParameter::NONE:
        normalizer = Dtype(1);
        break;
    }
    // A batch of all-ignored labels gives loss 0, not 0/0.
    return std::max(Dtype(1), normalizer);
  }
};

}  // namespace deepspark
