#include "deepspark/layers/dropout_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class DropoutLayerTest : public NeuronTestBase<Dtype> {};
TYPED_TEST_SUITE(DropoutLayerTest, TestDtypes);

TYPED_TEST(DropoutLayerTest, TrainScalesKeptUnits) {
  using Dtype = TypeParam;
  caffe::LayerParameter p = LayerParam("Dropout", caffe::TRAIN);
  p.mutable_dropout_param()->set_dropout_ratio(0.25f);
  DropoutLayer<Dtype> layer(p);
  // A bigger bottom so that the kept fraction is meaningful.
  this->bottom_.Reshape(std::vector<int>{4000});
  caffe_set(4000, Dtype(3), this->bottom_.mutable_cpu_data());
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  const Dtype scale = Dtype(1) / (Dtype(1) - Dtype(0.25f));
  int kept = 0;
  for (int i = 0; i < 4000; ++i) {
    const Dtype y = this->top_.cpu_data()[i];
    if (y != 0) {
      EXPECT_EQ(y, Dtype(3) * scale);
      ++kept;
    }
  }
  EXPECT_NEAR(kept / 4000., 0.75, 0.03);
  // Backward uses the same mask and scale.
  caffe_set(4000, Dtype(1), this->top_.mutable_cpu_diff());
  layer.Backward(this->top_vec_, {true}, this->bottom_vec_);
  for (int i = 0; i < 4000; ++i) {
    EXPECT_EQ(this->bottom_.cpu_diff()[i], this->top_.cpu_data()[i] != 0 ? scale : Dtype(0));
  }
}

TYPED_TEST(DropoutLayerTest, SameSeedSameMask) {
  DropoutLayer<TypeParam> layer(LayerParam("Dropout", caffe::TRAIN));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  SeedThreadRng(7, 3);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  std::vector<TypeParam> first(this->top_.cpu_data(), this->top_.cpu_data() + 24);
  SeedThreadRng(7, 3);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(this->top_.cpu_data()[i], first[i]);
}

TYPED_TEST(DropoutLayerTest, TestPhaseIsIdentity) {
  DropoutLayer<TypeParam> layer(LayerParam("Dropout", caffe::TEST));
  this->CheckForward(&layer, [](double x) { return x; });
  caffe_set(24, TypeParam(2), this->top_.mutable_cpu_diff());
  layer.Backward(this->top_vec_, {true}, this->bottom_vec_);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(this->bottom_.cpu_diff()[i], 2);
}

TYPED_TEST(DropoutLayerTest, GradientTrain) {
  DropoutLayer<TypeParam> layer(LayerParam("Dropout", caffe::TRAIN));
  this->CheckGradient(&layer);
}

TYPED_TEST(DropoutLayerTest, GradientTest) {
  DropoutLayer<TypeParam> layer(LayerParam("Dropout", caffe::TEST));
  this->CheckGradient(&layer);
}

TYPED_TEST(DropoutLayerTest, InPlaceTrain) {
  DropoutLayer<TypeParam> layer(LayerParam("Dropout", caffe::TRAIN));
  std::vector<TypeParam> x(this->bottom_.cpu_data(), this->bottom_.cpu_data() + 24);
  this->top_vec_[0] = &this->bottom_;
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  for (int i = 0; i < 24; ++i) {
    const TypeParam y = this->bottom_.cpu_data()[i];
    EXPECT_TRUE(y == 0 || y == x[i] * TypeParam(2)) << i;
  }
}

TYPED_TEST(DropoutLayerTest, BadRatioIsAnError) {
  caffe::LayerParameter p = LayerParam("Dropout");
  p.mutable_dropout_param()->set_dropout_ratio(1.f);
  DropoutLayer<TypeParam> layer(p);
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

TYPED_TEST(DropoutLayerTest, InPlaceTestPhase) {
  this->CheckInPlaceMatches(LayerParam("Dropout", caffe::TEST));
}

}  // namespace deepspark
