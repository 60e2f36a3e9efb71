#include "deepspark/layers/sigmoid_cross_entropy_loss_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class SigmoidCrossEntropyLossLayerTest : public ::testing::Test {
 protected:
  // Scores (3, 4) ~ N(0, 3^2) (so both signs and large values occur),
  // targets in [0, 1].
  SigmoidCrossEntropyLossLayerTest() : x_(std::vector<int>{3, 4}), t_(std::vector<int>{3, 4}) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(12, Dtype(0), Dtype(3), x_.mutable_cpu_data());
    caffe_rng_uniform(12, Dtype(0), Dtype(1), t_.mutable_cpu_data());
  }
  double Expected(int ignore_label, bool use_ignore, int* valid) const {
    double sum = 0;
    *valid = 0;
    for (int i = 0; i < 12; ++i) {
      const double t = t_.cpu_data()[i];
      if (use_ignore && static_cast<int>(t) == ignore_label) continue;
      const double p = 1 / (1 + std::exp(-double(x_.cpu_data()[i])));
      sum -= t * std::log(p) + (1 - t) * std::log(1 - p);
      ++*valid;
    }
    return sum;
  }
  double LossFor(const caffe::LayerParameter& p) {
    SigmoidCrossEntropyLossLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec_, top_vec_);
    layer.Forward(bottom_vec_, top_vec_);
    return loss_.cpu_data()[0];
  }
  Blob<Dtype> x_, t_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&x_, &t_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(SigmoidCrossEntropyLossLayerTest, TestDtypes);

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, ForwardBatchSizeByDefault) {
  int valid = 0;
  const double sum = this->Expected(0, false, &valid);
  EXPECT_NEAR(this->LossFor(LayerParam("SigmoidCrossEntropyLoss")), sum / 3, 1e-4);
}

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, ForwardLargeScoresStayFinite) {
  this->x_.mutable_cpu_data()[0] = 200;
  this->x_.mutable_cpu_data()[1] = -200;
  this->t_.mutable_cpu_data()[0] = 0;
  this->t_.mutable_cpu_data()[1] = 1;
  const double loss = this->LossFor(LayerParam("SigmoidCrossEntropyLoss"));
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(loss, 400. / 3 - 1);
}

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, IgnoreLabelAndNormalization) {
  // Targets that truncate to 0 are ignored: only targets of exactly 1 count.
  caffe_set(6, TypeParam(1), this->t_.mutable_cpu_data());
  int valid = 0;
  const double sum = this->Expected(0, true, &valid);
  ASSERT_EQ(valid, 6);
  caffe::LayerParameter p = LayerParam("SigmoidCrossEntropyLoss");
  p.mutable_loss_param()->set_ignore_label(0);
  EXPECT_NEAR(this->LossFor(p), sum / 3, 1e-4);
  p.mutable_loss_param()->set_normalization(caffe::LossParameter::VALID);
  EXPECT_NEAR(this->LossFor(p), sum / 6, 1e-4);
  p.mutable_loss_param()->clear_normalization();
  p.mutable_loss_param()->set_normalize(true);
  EXPECT_NEAR(this->LossFor(p), sum / 6, 1e-4);
}

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, Gradient) {
  SigmoidCrossEntropyLossLayer<TypeParam> layer(LayerParam("SigmoidCrossEntropyLoss"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
  EXPECT_FALSE(layer.AllowForceBackward(1));
}

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, GradientIgnoreLabel) {
  caffe_set(6, TypeParam(1), this->t_.mutable_cpu_data());
  caffe::LayerParameter p = LayerParam("SigmoidCrossEntropyLoss");
  p.mutable_loss_param()->set_ignore_label(0);
  SigmoidCrossEntropyLossLayer<TypeParam> layer(p);
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
  for (int i = 6; i < 12; ++i) EXPECT_EQ(this->x_.cpu_diff()[i], 0);
}

TYPED_TEST(SigmoidCrossEntropyLossLayerTest, CountMismatchIsAnError) {
  this->t_.Reshape(std::vector<int>{3, 5});
  SigmoidCrossEntropyLossLayer<TypeParam> layer(LayerParam("SigmoidCrossEntropyLoss"));
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
