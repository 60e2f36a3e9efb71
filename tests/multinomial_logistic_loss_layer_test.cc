#include "deepspark/layers/multinomial_logistic_loss_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class MultinomialLogisticLossLayerTest : public ::testing::Test {
 protected:
  MultinomialLogisticLossLayerTest() : prob_(3, 5, 1, 1), label_(3, 1, 1, 1) {
    SeedThreadRng(1701, 0);
    caffe_rng_uniform(15, Dtype(0.2), Dtype(1), prob_.mutable_cpu_data());
    const Dtype l[3] = {4, 0, 2};
    caffe_copy(3, l, label_.mutable_cpu_data());
  }
  Blob<Dtype> prob_, label_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&prob_, &label_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(MultinomialLogisticLossLayerTest, TestDtypes);

TYPED_TEST(MultinomialLogisticLossLayerTest, Forward) {
  MultinomialLogisticLossLayer<TypeParam> layer(LayerParam("MultinomialLogisticLoss"));
  this->prob_.mutable_cpu_data()[2 * 5 + 2] = 0;  // clamped to 1e-20
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  const double expected =
      -(std::log(double(this->prob_.cpu_data()[4])) + std::log(double(this->prob_.cpu_data()[5])) +
        std::log(double(TypeParam(1e-20)))) /
      3;
  EXPECT_NEAR(this->loss_.cpu_data()[0], expected, 1e-4);
}

TYPED_TEST(MultinomialLogisticLossLayerTest, Gradient) {
  MultinomialLogisticLossLayer<TypeParam> layer(LayerParam("MultinomialLogisticLoss"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(2e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

}  // namespace deepspark
