#include "deepspark/layers/prelu_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class PReLULayerTest : public NeuronTestBase<Dtype> {
 protected:
  static caffe::LayerParameter RandomSlopes(bool channel_shared) {
    caffe::LayerParameter p = LayerParam("PReLU");
    p.mutable_prelu_param()->set_channel_shared(channel_shared);
    p.mutable_prelu_param()->mutable_filler()->set_type("uniform");
    p.mutable_prelu_param()->mutable_filler()->set_min(-0.5f);
    p.mutable_prelu_param()->mutable_filler()->set_max(0.9f);
    return p;
  }
};
TYPED_TEST_SUITE(PReLULayerTest, TestDtypes);

TYPED_TEST(PReLULayerTest, DefaultSlopeIsQuarter) {
  PReLULayer<TypeParam> layer(LayerParam("PReLU"));
  this->CheckForward(&layer, [](double x) { return x > 0 ? x : 0.25 * x; });
  ASSERT_EQ(layer.blobs().size(), 1u);
  EXPECT_EQ(layer.blobs()[0]->shape(), std::vector<int>{3});
  EXPECT_TRUE(layer.param_propagate_down(0));
}

TYPED_TEST(PReLULayerTest, PerChannelForward) {
  PReLULayer<TypeParam> layer(this->RandomSlopes(false));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  const TypeParam* slope = layer.blobs()[0]->cpu_data();
  for (int i = 0; i < 24; ++i) {
    const int c = (i / 4) % 3;
    const TypeParam x = this->bottom_.cpu_data()[i];
    EXPECT_EQ(this->top_.cpu_data()[i], x > 0 ? x : slope[c] * x);
  }
}

TYPED_TEST(PReLULayerTest, ChannelSharedIsScalar) {
  PReLULayer<TypeParam> layer(this->RandomSlopes(true));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(layer.blobs()[0]->num_axes(), 0);
  EXPECT_EQ(layer.blobs()[0]->count(), 1);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  const TypeParam a = layer.blobs()[0]->cpu_data()[0];
  for (int i = 0; i < 24; ++i) {
    const TypeParam x = this->bottom_.cpu_data()[i];
    EXPECT_EQ(this->top_.cpu_data()[i], x > 0 ? x : a * x);
  }
}

TYPED_TEST(PReLULayerTest, Gradient) {
  PReLULayer<TypeParam> layer(this->RandomSlopes(false));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-3), 1701, 0, TypeParam(0.01));
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(PReLULayerTest, GradientChannelShared) {
  PReLULayer<TypeParam> layer(this->RandomSlopes(true));
  GradientChecker<TypeParam> checker(TypeParam(1e-2), TypeParam(1e-3), 1701, 0, TypeParam(0.01));
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(PReLULayerTest, InPlaceMatchesOutOfPlace) {
  using Dtype = TypeParam;
  caffe::LayerParameter p = this->RandomSlopes(false);
  SeedThreadRng(5, 0);
  PReLULayer<Dtype> ref(p);
  ref.SetUp(this->bottom_vec_, this->top_vec_);
  ref.Forward(this->bottom_vec_, this->top_vec_);
  caffe_copy(24, this->top_.cpu_data(), this->top_.mutable_cpu_diff());
  caffe_set(3, Dtype(0), ref.blobs()[0]->mutable_cpu_diff());
  ref.Backward(this->top_vec_, {true}, this->bottom_vec_);

  Blob<Dtype> data(2, 3, 2, 2);
  data.CopyFrom(this->bottom_);
  std::vector<Blob<Dtype>*> vec{&data};
  SeedThreadRng(5, 0);
  PReLULayer<Dtype> inplace(p);
  inplace.SetUp(vec, vec);
  inplace.Forward(vec, vec);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(data.cpu_data()[i], this->top_.cpu_data()[i]);
  caffe_copy(24, data.cpu_data(), data.mutable_cpu_diff());
  caffe_set(3, Dtype(0), inplace.blobs()[0]->mutable_cpu_diff());
  inplace.Backward(vec, {true}, vec);
  for (int i = 0; i < 24; ++i) EXPECT_NEAR(data.cpu_diff()[i], this->bottom_.cpu_diff()[i], 1e-6);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(inplace.blobs()[0]->cpu_diff()[c], ref.blobs()[0]->cpu_diff()[c], 1e-5);
  }
}

TYPED_TEST(PReLULayerTest, LoadedSlopesMustMatchChannels) {
  caffe::LayerParameter p = LayerParam("PReLU");
  caffe::BlobProto* b = p.add_blobs();
  b->mutable_shape()->add_dim(5);
  for (int i = 0; i < 5; ++i) b->add_data(0.1f);
  PReLULayer<TypeParam> layer(p);
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
