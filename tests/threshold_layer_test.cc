#include "deepspark/layers/threshold_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ThresholdLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(ThresholdLayerTest, TestDtypes);

TYPED_TEST(ThresholdLayerTest, Forward) {
  caffe::LayerParameter p = LayerParam("Threshold");
  p.mutable_threshold_param()->set_threshold(0.25f);
  ThresholdLayer<TypeParam> layer(p);
  this->bottom_.mutable_cpu_data()[0] = TypeParam(0.25f);  // strict: not above
  const double t = TypeParam(0.25f);
  this->CheckForward(&layer, [t](double x) { return x > t ? 1. : 0.; });
  EXPECT_EQ(this->top_.cpu_data()[0], 0);
}

TYPED_TEST(ThresholdLayerTest, BackwardIsAnError) {
  ThresholdLayer<TypeParam> layer(LayerParam("Threshold"));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  EXPECT_NO_THROW(layer.Backward(this->top_vec_, {false}, this->bottom_vec_));
  EXPECT_THROW(layer.Backward(this->top_vec_, {true}, this->bottom_vec_), Error);
}

}  // namespace deepspark
