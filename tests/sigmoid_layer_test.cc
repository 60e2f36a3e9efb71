#include "deepspark/layers/sigmoid_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class SigmoidLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(SigmoidLayerTest, TestDtypes);

TYPED_TEST(SigmoidLayerTest, Forward) {
  SigmoidLayer<TypeParam> layer(LayerParam("Sigmoid"));
  this->CheckForward(&layer, [](double x) { return 1. / (1. + std::exp(-x)); });
  for (int i = 0; i < this->top_.count(); ++i) {
    EXPECT_GE(this->top_.cpu_data()[i], 0);
    EXPECT_LE(this->top_.cpu_data()[i], 1);
  }
}

TYPED_TEST(SigmoidLayerTest, NoOverflow) {
  SigmoidLayer<TypeParam> layer(LayerParam("Sigmoid"));
  this->bottom_.mutable_cpu_data()[0] = -1000;
  this->bottom_.mutable_cpu_data()[1] = 1000;
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->top_.cpu_data()[0], 0);
  EXPECT_EQ(this->top_.cpu_data()[1], 1);
}

TYPED_TEST(SigmoidLayerTest, Gradient) {
  SigmoidLayer<TypeParam> layer(LayerParam("Sigmoid"));
  this->CheckGradient(&layer);
}

TYPED_TEST(SigmoidLayerTest, InPlace) { this->CheckInPlaceMatches(LayerParam("Sigmoid")); }

}  // namespace deepspark
