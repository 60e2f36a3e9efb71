#include "deepspark/layers/contrastive_loss_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ContrastiveLossLayerTest : public ::testing::Test {
 protected:
  ContrastiveLossLayerTest() : a_(5, 2, 1, 1), b_(5, 2, 1, 1), y_(5, 1, 1, 1) {
    SeedThreadRng(1701, 0);
    caffe_rng_uniform(10, Dtype(-0.6), Dtype(0.6), a_.mutable_cpu_data());
    caffe_rng_uniform(10, Dtype(-0.6), Dtype(0.6), b_.mutable_cpu_data());
    const Dtype y[5] = {1, 0, 0, 1, 0};
    caffe_copy(5, y, y_.mutable_cpu_data());
  }
  double Expected(bool legacy, double margin) const {
    double loss = 0;
    for (int i = 0; i < 5; ++i) {
      double dsq = 0;
      for (int c = 0; c < 2; ++c) {
        const double d = double(a_.cpu_data()[i * 2 + c]) - b_.cpu_data()[i * 2 + c];
        dsq += d * d;
      }
      if (y_.cpu_data()[i]) {
        loss += dsq;
      } else if (legacy) {
        loss += std::max(margin - dsq, 0.);
      } else {
        const double m = std::max(margin - std::sqrt(dsq), 0.);
        loss += m * m;
      }
    }
    return loss / 5 / 2;
  }
  caffe::LayerParameter Param(bool legacy) {
    caffe::LayerParameter p = LayerParam("ContrastiveLoss");
    p.mutable_contrastive_loss_param()->set_legacy_version(legacy);
    return p;
  }
  Blob<Dtype> a_, b_, y_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&a_, &b_, &y_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(ContrastiveLossLayerTest, TestDtypes);

TYPED_TEST(ContrastiveLossLayerTest, Forward) {
  for (bool legacy : {false, true}) {
    ContrastiveLossLayer<TypeParam> layer(this->Param(legacy));
    layer.SetUp(this->bottom_vec_, this->top_vec_);
    layer.Forward(this->bottom_vec_, this->top_vec_);
    EXPECT_NEAR(this->loss_.cpu_data()[0], this->Expected(legacy, 1), 1e-5);
  }
}

TYPED_TEST(ContrastiveLossLayerTest, Gradient) {
  ContrastiveLossLayer<TypeParam> layer(this->Param(false));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 1);
  EXPECT_FALSE(layer.AllowForceBackward(2));
}

TYPED_TEST(ContrastiveLossLayerTest, GradientLegacy) {
  ContrastiveLossLayer<TypeParam> layer(this->Param(true));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 1);
}

TYPED_TEST(ContrastiveLossLayerTest, ShapeMismatchIsAnError) {
  Blob<TypeParam> c(5, 3, 1, 1);
  std::vector<Blob<TypeParam>*> bottom{&this->a_, &c, &this->y_};
  ContrastiveLossLayer<TypeParam> layer(this->Param(false));
  EXPECT_THROW(layer.SetUp(bottom, this->top_vec_), Error);
}

}  // namespace deepspark
