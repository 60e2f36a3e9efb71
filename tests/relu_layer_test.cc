#include "deepspark/layers/relu_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ReLULayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(ReLULayerTest, TestDtypes);

TYPED_TEST(ReLULayerTest, Forward) {
  ReLULayer<TypeParam> layer(LayerParam("ReLU"));
  this->CheckForward(&layer, [](double x) { return x > 0 ? x : 0.; });
}

TYPED_TEST(ReLULayerTest, ForwardLeaky) {
  caffe::LayerParameter p = LayerParam("ReLU");
  p.mutable_relu_param()->set_negative_slope(0.01f);
  ReLULayer<TypeParam> layer(p);
  const TypeParam slope = TypeParam(0.01f);
  this->CheckForward(&layer,
                     [slope](double x) { return x > 0 ? x : double(slope * TypeParam(x)); });
}

TYPED_TEST(ReLULayerTest, Gradient) {
  ReLULayer<TypeParam> layer(LayerParam("ReLU"));
  this->CheckGradient(&layer, 0, TypeParam(0.01));
}

TYPED_TEST(ReLULayerTest, GradientLeaky) {
  caffe::LayerParameter p = LayerParam("ReLU");
  p.mutable_relu_param()->set_negative_slope(0.01f);
  ReLULayer<TypeParam> layer(p);
  this->CheckGradient(&layer, 0, TypeParam(0.01));
}

TYPED_TEST(ReLULayerTest, InPlaceMatches) {
  ReLULayer<TypeParam> layer(LayerParam("ReLU"));
  std::vector<TypeParam> x(this->bottom_.cpu_data(), this->bottom_.cpu_data() + 24);
  this->top_vec_[0] = &this->bottom_;
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  caffe_set(24, TypeParam(1), this->bottom_.mutable_cpu_diff());
  layer.Backward(this->top_vec_, {true}, this->bottom_vec_);
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(this->bottom_.cpu_data()[i], x[i] > 0 ? x[i] : 0);
    EXPECT_EQ(this->bottom_.cpu_diff()[i], x[i] > 0 ? 1 : 0);
  }
}

TEST(ReLULayerRegistry, Registered) {
  EXPECT_TRUE(LayerRegistry<float>::Has("ReLU"));
  EXPECT_STREQ(LayerRegistry<double>::CreateLayer(LayerParam("ReLU"))->type(), "ReLU");
}

TYPED_TEST(ReLULayerTest, InPlaceLeaky) {
  caffe::LayerParameter p = LayerParam("ReLU");
  p.mutable_relu_param()->set_negative_slope(0.1f);
  this->CheckInPlaceMatches(p);
}

}  // namespace deepspark
