#include "deepspark/layers/elu_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ELULayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(ELULayerTest, TestDtypes);

TYPED_TEST(ELULayerTest, Forward) {
  caffe::LayerParameter p = LayerParam("ELU");
  p.mutable_elu_param()->set_alpha(0.5f);
  ELULayer<TypeParam> layer(p);
  this->CheckForward(&layer, [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1); });
}

TYPED_TEST(ELULayerTest, Gradient) {
  caffe::LayerParameter p = LayerParam("ELU");
  p.mutable_elu_param()->set_alpha(0.5f);
  ELULayer<TypeParam> layer(p);
  this->CheckGradient(&layer, 0, TypeParam(0.01));
}

TYPED_TEST(ELULayerTest, GradientDefaultAlpha) {
  ELULayer<TypeParam> layer(LayerParam("ELU"));
  this->CheckGradient(&layer, 0, TypeParam(0.01));
}

TYPED_TEST(ELULayerTest, InPlace) { this->CheckInPlaceMatches(LayerParam("ELU")); }

}  // namespace deepspark
