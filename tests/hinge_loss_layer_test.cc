#include "deepspark/layers/hinge_loss_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class HingeLossLayerTest : public ::testing::Test {
 protected:
  HingeLossLayerTest() : x_(std::vector<int>{3, 4}), label_(std::vector<int>{3}) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(12, Dtype(0), Dtype(2), x_.mutable_cpu_data());
    const Dtype l[3] = {1, 3, 0};
    caffe_copy(3, l, label_.mutable_cpu_data());
  }
  double Expected(bool l2) const {
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 4; ++k) {
        const double delta = (k == static_cast<int>(label_.cpu_data()[i])) ? 1 : -1;
        const double d = std::max(0., 1 - delta * x_.cpu_data()[i * 4 + k]);
        sum += l2 ? d * d : d;
      }
    }
    return sum / 3;
  }
  caffe::LayerParameter Param(bool l2) {
    caffe::LayerParameter p = LayerParam("HingeLoss");
    if (l2) p.mutable_hinge_loss_param()->set_norm(caffe::HingeLossParameter::L2);
    return p;
  }
  Blob<Dtype> x_, label_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&x_, &label_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(HingeLossLayerTest, TestDtypes);

TYPED_TEST(HingeLossLayerTest, ForwardL1AndL2) {
  for (bool l2 : {false, true}) {
    HingeLossLayer<TypeParam> layer(this->Param(l2));
    layer.SetUp(this->bottom_vec_, this->top_vec_);
    layer.Forward(this->bottom_vec_, this->top_vec_);
    EXPECT_NEAR(this->loss_.cpu_data()[0], this->Expected(l2), 1e-5) << "l2 = " << l2;
  }
}

TYPED_TEST(HingeLossLayerTest, GradientL1) {
  HingeLossLayer<TypeParam> layer(this->Param(false));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(2e-3), 1701, 1, TypeParam(0.02));
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

TYPED_TEST(HingeLossLayerTest, GradientL2) {
  HingeLossLayer<TypeParam> layer(this->Param(true));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(2e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

}  // namespace deepspark
