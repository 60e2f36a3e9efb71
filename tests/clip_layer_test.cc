#include "deepspark/layers/clip_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ClipLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(ClipLayerTest, TestDtypes);

static caffe::LayerParameter ClipParam(float lo, float hi) {
  caffe::LayerParameter p = LayerParam("Clip");
  p.mutable_clip_param()->set_min(lo);
  p.mutable_clip_param()->set_max(hi);
  return p;
}

TYPED_TEST(ClipLayerTest, Forward) {
  ClipLayer<TypeParam> layer(ClipParam(-0.5f, 0.75f));
  this->CheckForward(&layer, [](double x) { return std::min(0.75, std::max(-0.5, x)); });
}

TYPED_TEST(ClipLayerTest, Gradient) {
  ClipLayer<TypeParam> layer(ClipParam(-0.5f, 0.75f));
  this->AvoidPoint(TypeParam(-0.5), TypeParam(0.05));
  this->AvoidPoint(TypeParam(0.75), TypeParam(0.05));
  this->CheckGradient(&layer);
}

TYPED_TEST(ClipLayerTest, BadParametersAreErrors) {
  ClipLayer<TypeParam> missing(LayerParam("Clip"));
  EXPECT_THROW(missing.SetUp(this->bottom_vec_, this->top_vec_), Error);
  ClipLayer<TypeParam> reversed(ClipParam(1.f, -1.f));
  EXPECT_THROW(reversed.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
