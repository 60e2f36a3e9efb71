#include "deepspark/layers/tanh_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class TanHLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(TanHLayerTest, TestDtypes);

TYPED_TEST(TanHLayerTest, Forward) {
  TanHLayer<TypeParam> layer(LayerParam("TanH"));
  this->CheckForward(&layer, [](double x) { return std::tanh(x); });
}

TYPED_TEST(TanHLayerTest, Gradient) {
  TanHLayer<TypeParam> layer(LayerParam("TanH"));
  this->CheckGradient(&layer);
}

TYPED_TEST(TanHLayerTest, InPlace) { this->CheckInPlaceMatches(LayerParam("TanH")); }

}  // namespace deepspark
