#include "deepspark/layers/softmax_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class SoftmaxLayerTest : public ::testing::Test {
 protected:
  SoftmaxLayerTest() : bottom_(2, 5, 2, 2) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
  }
  Blob<Dtype> bottom_, top_;
  std::vector<Blob<Dtype>*> bottom_vec_{&bottom_}, top_vec_{&top_};
};
TYPED_TEST_SUITE(SoftmaxLayerTest, TestDtypes);

TYPED_TEST(SoftmaxLayerTest, ForwardChannelAxis) {
  SoftmaxLayer<TypeParam> layer(LayerParam("Softmax"));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  for (int n = 0; n < 2; ++n) {
    for (int h = 0; h < 2; ++h) {
      for (int w = 0; w < 2; ++w) {
        double sum = 0;
        for (int c = 0; c < 5; ++c) sum += std::exp(double(this->bottom_.data_at(n, c, h, w)));
        for (int c = 0; c < 5; ++c) {
          const double expected = std::exp(double(this->bottom_.data_at(n, c, h, w))) / sum;
          EXPECT_NEAR(this->top_.data_at(n, c, h, w), expected, NearTol<TypeParam>(1) * 4);
        }
      }
    }
  }
}

TYPED_TEST(SoftmaxLayerTest, ForwardLastAxisLargeValues) {
  caffe::LayerParameter p = LayerParam("Softmax");
  p.mutable_softmax_param()->set_axis(-1);
  SoftmaxLayer<TypeParam> layer(p);
  this->bottom_.Reshape(std::vector<int>{2, 3});
  TypeParam* x = this->bottom_.mutable_cpu_data();
  // Without the max subtraction exp(1000) would overflow.
  x[0] = 1000;
  x[1] = 1001;
  x[2] = 1002;
  x[3] = -1;
  x[4] = 0;
  x[5] = 1;
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  const double e0 = 1 / (1 + std::exp(1.) + std::exp(2.));
  const double expected[3] = {e0, e0 * std::exp(1.), e0 * std::exp(2.)};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(this->top_.cpu_data()[i], expected[i % 3], NearTol<TypeParam>(1) * 4);
  }
}

TYPED_TEST(SoftmaxLayerTest, Gradient) {
  SoftmaxLayer<TypeParam> layer(LayerParam("Softmax"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-3));
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(SoftmaxLayerTest, GradientAxis2) {
  caffe::LayerParameter p = LayerParam("Softmax");
  p.mutable_softmax_param()->set_axis(2);
  SoftmaxLayer<TypeParam> layer(p);
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-3));
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(SoftmaxLayerTest, BadAxisIsAnError) {
  caffe::LayerParameter p = LayerParam("Softmax");
  p.mutable_softmax_param()->set_axis(4);
  SoftmaxLayer<TypeParam> layer(p);
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
