#include "deepspark/layers/swish_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class SwishLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(SwishLayerTest, TestDtypes);

TYPED_TEST(SwishLayerTest, Forward) {
  SwishLayer<TypeParam> layer(LayerParam("Swish"));
  this->CheckForward(&layer, [](double x) { return x / (1. + std::exp(-x)); });
}

TYPED_TEST(SwishLayerTest, ForwardBeta) {
  caffe::LayerParameter p = LayerParam("Swish");
  p.mutable_swish_param()->set_beta(1.5f);
  SwishLayer<TypeParam> layer(p);
  this->CheckForward(&layer, [](double x) { return x / (1. + std::exp(-1.5 * x)); });
}

TYPED_TEST(SwishLayerTest, Gradient) {
  SwishLayer<TypeParam> layer(LayerParam("Swish"));
  this->CheckGradient(&layer);
}

TYPED_TEST(SwishLayerTest, GradientBeta) {
  caffe::LayerParameter p = LayerParam("Swish");
  p.mutable_swish_param()->set_beta(1.5f);
  SwishLayer<TypeParam> layer(p);
  this->CheckGradient(&layer);
}

TYPED_TEST(SwishLayerTest, InPlace) { this->CheckInPlaceMatches(LayerParam("Swish")); }

}  // namespace deepspark
