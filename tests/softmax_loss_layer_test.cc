#include "deepspark/layers/softmax_loss_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class SoftmaxWithLossLayerTest : public ::testing::Test {
 protected:
  // Scores (2, 4, 2, 1), labels (2, 1, 2, 1) in [0, 4).
  SoftmaxWithLossLayerTest() : scores_(2, 4, 2, 1), labels_(2, 1, 2, 1) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(scores_.count(), Dtype(0), Dtype(1), scores_.mutable_cpu_data());
    const Dtype labels[4] = {0, 3, 2, 1};
    caffe_copy(4, labels, labels_.mutable_cpu_data());
  }
  // -log softmax(scores)[label] at position (n, h), in double.
  double NegLogProb(int n, int h) const {
    const int label = static_cast<int>(labels_.data_at(n, 0, h, 0));
    double sum = 0;
    for (int c = 0; c < 4; ++c) sum += std::exp(double(scores_.data_at(n, c, h, 0)));
    return -(double(scores_.data_at(n, label, h, 0)) - std::log(sum));
  }
  double LossFor(caffe::LayerParameter p) {
    SoftmaxWithLossLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec_, top_vec_);
    layer.Forward(bottom_vec_, top_vec_);
    return loss_.cpu_data()[0];
  }
  Blob<Dtype> scores_, labels_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&scores_, &labels_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(SoftmaxWithLossLayerTest, TestDtypes);

TYPED_TEST(SoftmaxWithLossLayerTest, ForwardValidByDefault) {
  double sum = 0;
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 2; ++h) sum += this->NegLogProb(n, h);
  EXPECT_NEAR(this->LossFor(LayerParam("SoftmaxWithLoss")), sum / 4, 1e-5);
}

TYPED_TEST(SoftmaxWithLossLayerTest, ForwardHandComputed) {
  // One sample, logits (0, ln 3): p = (1/4, 3/4); label 1 -> -log(3/4).
  this->scores_.Reshape(std::vector<int>{1, 2});
  this->labels_.Reshape(std::vector<int>{1});
  this->scores_.mutable_cpu_data()[0] = 0;
  this->scores_.mutable_cpu_data()[1] = TypeParam(std::log(3.));
  this->labels_.mutable_cpu_data()[0] = 1;
  EXPECT_NEAR(this->LossFor(LayerParam("SoftmaxWithLoss")), -std::log(0.75), 1e-6);
}

TYPED_TEST(SoftmaxWithLossLayerTest, IgnoreLabelAndNormalization) {
  double sum = 0;  // label 3 at (0, 1) ignored
  sum = this->NegLogProb(0, 0) + this->NegLogProb(1, 0) + this->NegLogProb(1, 1);
  caffe::LayerParameter p = LayerParam("SoftmaxWithLoss");
  p.mutable_loss_param()->set_ignore_label(3);
  EXPECT_NEAR(this->LossFor(p), sum / 3, 1e-5);  // VALID
  p.mutable_loss_param()->set_normalization(caffe::LossParameter::FULL);
  EXPECT_NEAR(this->LossFor(p), sum / 4, 1e-5);
  p.mutable_loss_param()->set_normalization(caffe::LossParameter::BATCH_SIZE);
  EXPECT_NEAR(this->LossFor(p), sum / 2, 1e-5);
  p.mutable_loss_param()->set_normalization(caffe::LossParameter::NONE);
  EXPECT_NEAR(this->LossFor(p), sum, 1e-5);
  // Deprecated `normalize` applies only when normalization is unset.
  p.mutable_loss_param()->set_normalize(false);
  EXPECT_NEAR(this->LossFor(p), sum, 1e-5);
  p.mutable_loss_param()->clear_normalization();
  EXPECT_NEAR(this->LossFor(p), sum / 2, 1e-5);
  p.mutable_loss_param()->set_normalize(true);
  EXPECT_NEAR(this->LossFor(p), sum / 3, 1e-5);
}

TYPED_TEST(SoftmaxWithLossLayerTest, AllIgnoredGivesZero) {
  caffe_set(4, TypeParam(3), this->labels_.mutable_cpu_data());
  caffe::LayerParameter p = LayerParam("SoftmaxWithLoss");
  p.mutable_loss_param()->set_ignore_label(3);
  EXPECT_EQ(this->LossFor(p), 0);
}

TYPED_TEST(SoftmaxWithLossLayerTest, DefaultLossWeightAndContracts) {
  SoftmaxWithLossLayer<TypeParam> layer(LayerParam("SoftmaxWithLoss"));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  ASSERT_EQ(layer.layer_param().loss_weight_size(), 1);
  EXPECT_EQ(layer.layer_param().loss_weight(0), 1);
  EXPECT_EQ(layer.loss(0), 1);
  EXPECT_EQ(this->loss_.num_axes(), 0);
  EXPECT_TRUE(layer.AllowForceBackward(0));
  EXPECT_FALSE(layer.AllowForceBackward(1));
  const TypeParam loss = layer.Forward(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(loss, this->loss_.cpu_data()[0]);
  EXPECT_THROW(layer.Backward(this->top_vec_, {true, true}, this->bottom_vec_), Error);
}

TYPED_TEST(SoftmaxWithLossLayerTest, SecondTopIsProb) {
  Blob<TypeParam> prob;
  std::vector<Blob<TypeParam>*> tops{&this->loss_, &prob};
  SoftmaxWithLossLayer<TypeParam> layer(LayerParam("SoftmaxWithLoss"));
  layer.SetUp(this->bottom_vec_, tops);
  EXPECT_EQ(layer.loss(0), 1);
  EXPECT_EQ(layer.loss(1), 0);
  layer.Forward(this->bottom_vec_, tops);
  ASSERT_EQ(prob.shape(), this->scores_.shape());
  for (int n = 0; n < 2; ++n) {
    for (int h = 0; h < 2; ++h) {
      double s = 0;
      for (int c = 0; c < 4; ++c) s += prob.data_at(n, c, h, 0);
      EXPECT_NEAR(s, 1, 1e-6);
    }
  }
}

TYPED_TEST(SoftmaxWithLossLayerTest, LabelCountMismatchIsAnError) {
  this->labels_.Reshape(std::vector<int>{2, 3});
  SoftmaxWithLossLayer<TypeParam> layer(LayerParam("SoftmaxWithLoss"));
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

TYPED_TEST(SoftmaxWithLossLayerTest, Gradient) {
  SoftmaxWithLossLayer<TypeParam> layer(LayerParam("SoftmaxWithLoss"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

TYPED_TEST(SoftmaxWithLossLayerTest, GradientIgnoreLabelUnnormalized) {
  caffe::LayerParameter p = LayerParam("SoftmaxWithLoss");
  p.mutable_loss_param()->set_ignore_label(3);
  p.mutable_loss_param()->set_normalize(false);
  SoftmaxWithLossLayer<TypeParam> layer(p);
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
  // The ignored position gets no gradient.
  for (int c = 0; c < 4; ++c) EXPECT_EQ(this->scores_.diff_at(0, c, 1, 0), 0);
}

TYPED_TEST(SoftmaxWithLossLayerTest, CreatedByRegistry) {
  auto layer = LayerRegistry<TypeParam>::CreateLayer(LayerParam("SoftmaxWithLoss"));
  EXPECT_STREQ(layer->type(), "SoftmaxWithLoss");
}

}  // namespace deepspark
