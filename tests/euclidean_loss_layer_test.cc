#include "deepspark/layers/euclidean_loss_layer.hpp"

#include <gtest/gtest.h>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class EuclideanLossLayerTest : public ::testing::Test {
 protected:
  EuclideanLossLayerTest() : a_(3, 4, 1, 1), b_(3, 4, 1, 1) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(a_.count(), Dtype(0), Dtype(1), a_.mutable_cpu_data());
    caffe_rng_gaussian(b_.count(), Dtype(0), Dtype(1), b_.mutable_cpu_data());
  }
  Blob<Dtype> a_, b_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&a_, &b_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(EuclideanLossLayerTest, TestDtypes);

TYPED_TEST(EuclideanLossLayerTest, Forward) {
  EuclideanLossLayer<TypeParam> layer(LayerParam("EuclideanLoss"));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->loss_.num_axes(), 0);
  EXPECT_EQ(layer.layer_param().loss_weight_size(), 1);
  EXPECT_EQ(layer.loss(0), 1);
  const TypeParam loss = layer.Forward(this->bottom_vec_, this->top_vec_);
  double expected = 0;
  for (int i = 0; i < 12; ++i) {
    const double d = double(this->a_.cpu_data()[i]) - this->b_.cpu_data()[i];
    expected += d * d;
  }
  expected /= 2 * 3;
  EXPECT_NEAR(this->loss_.cpu_data()[0], expected, 1e-5);
  EXPECT_NEAR(loss, expected, 1e-5);
}

TYPED_TEST(EuclideanLossLayerTest, LossWeightScalesLoss) {
  caffe::LayerParameter p = LayerParam("EuclideanLoss");
  p.add_loss_weight(3.f);
  EuclideanLossLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  const TypeParam loss = layer.Forward(this->bottom_vec_, this->top_vec_);
  EXPECT_NEAR(loss, 3 * this->loss_.cpu_data()[0], 1e-5);
  EXPECT_EQ(layer.layer_param().loss_weight_size(), 1);
}

TYPED_TEST(EuclideanLossLayerTest, Gradient) {
  EuclideanLossLayer<TypeParam> layer(LayerParam("EuclideanLoss"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
  EXPECT_TRUE(layer.AllowForceBackward(1));
}

TYPED_TEST(EuclideanLossLayerTest, ShapeMismatchIsAnError) {
  Blob<TypeParam> c(3, 5, 1, 1);
  std::vector<Blob<TypeParam>*> bottom{&this->a_, &c};
  EuclideanLossLayer<TypeParam> layer(LayerParam("EuclideanLoss"));
  EXPECT_THROW(layer.SetUp(bottom, this->top_vec_), Error);
  Blob<TypeParam> d(4, 4, 1, 1);
  std::vector<Blob<TypeParam>*> bottom2{&this->a_, &d};
  EuclideanLossLayer<TypeParam> layer2(LayerParam("EuclideanLoss"));
  EXPECT_THROW(layer2.SetUp(bottom2, this->top_vec_), Error);
}

}  // namespace deepspark
