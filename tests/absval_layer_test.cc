#include "deepspark/layers/absval_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class AbsValLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(AbsValLayerTest, TestDtypes);

TYPED_TEST(AbsValLayerTest, Forward) {
  AbsValLayer<TypeParam> layer(LayerParam("AbsVal"));
  this->CheckForward(&layer, [](double x) { return std::fabs(x); });
}

TYPED_TEST(AbsValLayerTest, Gradient) {
  AbsValLayer<TypeParam> layer(LayerParam("AbsVal"));
  this->CheckGradient(&layer, 0, TypeParam(0.01));
}

TYPED_TEST(AbsValLayerTest, InPlaceIsAnError) {
  AbsValLayer<TypeParam> layer(LayerParam("AbsVal"));
  this->top_vec_[0] = &this->bottom_;
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
