#include "deepspark/layers/infogain_loss_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class InfogainLossLayerTest : public ::testing::Test {
 protected:
  // Scores (2, 3, 2), labels (2, 2), H (3, 3) positive.
  InfogainLossLayerTest()
      : x_(std::vector<int>{2, 3, 2}), label_(std::vector<int>{2, 2}), h_(std::vector<int>{3, 3}) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(12, Dtype(0), Dtype(1), x_.mutable_cpu_data());
    caffe_rng_uniform(9, Dtype(0.1), Dtype(1), h_.mutable_cpu_data());
    const Dtype l[4] = {0, 2, 1, 2};
    caffe_copy(4, l, label_.mutable_cpu_data());
  }
  double Expected(int ignore, int* valid) const {
    double loss = 0;
    *valid = 0;
    for (int n = 0; n < 2; ++n) {
      for (int j = 0; j < 2; ++j) {
        const int l = static_cast<int>(label_.cpu_data()[n * 2 + j]);
        if (l == ignore) continue;
        double sum = 0;
        for (int c = 0; c < 3; ++c) sum += std::exp(double(x_.cpu_data()[n * 6 + c * 2 + j]));
        for (int c = 0; c < 3; ++c) {
          const double p = std::exp(double(x_.cpu_data()[n * 6 + c * 2 + j])) / sum;
          loss -= h_.cpu_data()[l * 3 + c] * std::log(p);
        }
        ++*valid;
      }
    }
    return loss;
  }
  Blob<Dtype> x_, label_, h_, loss_;
  std::vector<Blob<Dtype>*> bottom_vec_{&x_, &label_, &h_}, top_vec_{&loss_};
};
TYPED_TEST_SUITE(InfogainLossLayerTest, TestDtypes);

TYPED_TEST(InfogainLossLayerTest, ForwardWithBottomH) {
  InfogainLossLayer<TypeParam> layer(LayerParam("InfogainLoss"));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  int valid = 0;
  const double loss = this->Expected(-1, &valid);
  EXPECT_NEAR(this->loss_.cpu_data()[0], loss / valid, 1e-5);
}

TYPED_TEST(InfogainLossLayerTest, ForwardIgnoreLabel) {
  caffe::LayerParameter p = LayerParam("InfogainLoss");
  p.mutable_loss_param()->set_ignore_label(2);
  InfogainLossLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  int valid = 0;
  const double loss = this->Expected(2, &valid);
  ASSERT_EQ(valid, 2);
  EXPECT_NEAR(this->loss_.cpu_data()[0], loss / valid, 1e-5);
}

TYPED_TEST(InfogainLossLayerTest, HFromSourceFile) {
  const std::string path = ::testing::TempDir() + "/infogain_h.binaryproto";
  caffe::BlobProto proto;
  this->h_.ToProto(&proto);
  {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(proto.SerializeToOstream(&out));
  }
  caffe::LayerParameter p = LayerParam("InfogainLoss");
  p.mutable_infogain_loss_param()->set_source(path);
  InfogainLossLayer<TypeParam> layer(p);
  std::vector<Blob<TypeParam>*> bottom{&this->x_, &this->label_};
  layer.SetUp(bottom, this->top_vec_);
  layer.Forward(bottom, this->top_vec_);
  int valid = 0;
  const double loss = this->Expected(-1, &valid);
  EXPECT_NEAR(this->loss_.cpu_data()[0], loss / valid, 1e-5);
  std::remove(path.c_str());

  caffe::LayerParameter missing = LayerParam("InfogainLoss");
  missing.mutable_infogain_loss_param()->set_source(path + ".absent");
  InfogainLossLayer<TypeParam> bad(missing);
  EXPECT_THROW(bad.SetUp(bottom, this->top_vec_), Error);
}

TYPED_TEST(InfogainLossLayerTest, Gradient) {
  InfogainLossLayer<TypeParam> layer(LayerParam("InfogainLoss"));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

TYPED_TEST(InfogainLossLayerTest, GradientIgnoreLabel) {
  caffe::LayerParameter p = LayerParam("InfogainLoss");
  p.mutable_loss_param()->set_ignore_label(2);
  InfogainLossLayer<TypeParam> layer(p);
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-2), 1701);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_, 0);
}

TYPED_TEST(InfogainLossLayerTest, WrongHShapeIsAnError) {
  this->h_.Reshape(std::vector<int>{2, 2});
  InfogainLossLayer<TypeParam> layer(LayerParam("InfogainLoss"));
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
