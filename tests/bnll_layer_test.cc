#include "deepspark/layers/bnll_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class BNLLLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(BNLLLayerTest, TestDtypes);

TYPED_TEST(BNLLLayerTest, Forward) {
  BNLLLayer<TypeParam> layer(LayerParam("BNLL"));
  this->CheckForward(&layer, [](double x) { return std::log1p(std::exp(x)); });
}

TYPED_TEST(BNLLLayerTest, LargeInputs) {
  BNLLLayer<TypeParam> layer(LayerParam("BNLL"));
  this->bottom_.mutable_cpu_data()[0] = 200;
  this->bottom_.mutable_cpu_data()[1] = -200;
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  EXPECT_NEAR(this->top_.cpu_data()[0], 200, 1e-4);
  EXPECT_NEAR(this->top_.cpu_data()[1], 0, 1e-30);
  caffe_set(24, TypeParam(1), this->top_.mutable_cpu_diff());
  layer.Backward(this->top_vec_, {true}, this->bottom_vec_);
  EXPECT_NEAR(this->bottom_.cpu_diff()[0], 1, 1e-6);
  EXPECT_TRUE(std::isfinite(this->bottom_.cpu_diff()[0]));
}

TYPED_TEST(BNLLLayerTest, Gradient) {
  BNLLLayer<TypeParam> layer(LayerParam("BNLL"));
  this->CheckGradient(&layer);
}

}  // namespace deepspark
