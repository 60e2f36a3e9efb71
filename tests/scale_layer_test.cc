#include "deepspark/layers/scale_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ScaleLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ScaleLayerTest, TestDtypes);

TYPED_TEST(ScaleLayerTest, DefaultFillerAndShapes) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 4, 2}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  struct Case {
    const char* text;
    std::vector<int> shape;
  };
  const std::vector<Case> cases{
      {"", {3}},
      {"scale_param { axis: 1 num_axes: 2 }", {3, 4}},
      {"scale_param { axis: 0 num_axes: -1 }", {2, 3, 4, 2}},
      {"scale_param { axis: -1 }", {2}},
      {"scale_param { num_axes: 0 }", {}},
  };
  for (const auto& c : cases) {
    ScaleLayer<Dtype> layer(ParseLayer(c.text));
    layer.SetUp(bottom, tops);
    ASSERT_EQ(layer.blobs().size(), 1u) << c.text;
    EXPECT_EQ(layer.blobs()[0]->shape(), c.shape) << c.text;
    for (int i = 0; i < layer.blobs()[0]->count(); ++i) {
      EXPECT_EQ(layer.blobs()[0]->cpu_data()[i], Dtype(1));
    }
    layer.Forward(bottom, tops);
    for (int i = 0; i < b->count(); ++i) EXPECT_EQ(top.cpu_data()[i], b->cpu_data()[i]);
  }
}

TYPED_TEST(ScaleLayerTest, ForwardHandValuesWithBias) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ScaleLayer<Dtype> layer(
      ParseLayer("scale_param { filler { type: 'constant' value: 2 } bias_term: true "
                 "bias_filler { type: 'constant' value: 0.5 } }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(layer.blobs().size(), 2u);
  layer.blobs()[0]->mutable_cpu_data()[1] = -1;  // scale (2, -1), bias (0.5, 0.5)
  layer.Forward(bottom, tops);
  const std::vector<double> expected{2.5, 4.5, -2.5, -3.5, 10.5, 12.5, -6.5, -7.5};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-6) << i;
}

TYPED_TEST(ScaleLayerTest, TwoBottomsBroadcast) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto s = ValueBlob<Dtype>({2}, {10, -1});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get(), s.get()}, tops{&top};
  ScaleLayer<Dtype> layer(ParseLayer("scale_param { axis: 0 }"));
  layer.SetUp(bottom, tops);
  EXPECT_TRUE(layer.blobs().empty());
  layer.Forward(bottom, tops);
  const std::vector<double> expected{10, 20, 30, -4, -5, -6};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-6) << i;
  // A mismatched factor names both shapes.
  auto bad = ValueBlob<Dtype>({3}, {1, 2, 3});
  std::vector<Blob<Dtype>*> bad_bottom{b.get(), bad.get()};
  ScaleLayer<Dtype> layer2(ParseLayer("scale_param { axis: 0 }"));
  ExpectErrorWith([&] { layer2.SetUp(bad_bottom, tops); }, {"3 (3)", "2 3 (6)"});
}

TYPED_TEST(ScaleLayerTest, Errors) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ScaleLayer<Dtype> far(ParseLayer("scale_param { axis: 1 num_axes: 2 }"));
  EXPECT_THROW(far.SetUp(bottom, tops), Error);
  ScaleLayer<Dtype> bad_axis(ParseLayer("scale_param { axis: 2 }"));
  EXPECT_THROW(bad_axis.SetUp(bottom, tops), Error);
  ScaleLayer<Dtype> bad_num(ParseLayer("scale_param { num_axes: -2 }"));
  EXPECT_THROW(bad_num.SetUp(bottom, tops), Error);
}

TYPED_TEST(ScaleLayerTest, Gradients) {
  using Dtype = TypeParam;
  for (const char* text : {"scale_param { filler { type: 'gaussian' } }",
                           "scale_param { filler { type: 'gaussian' } bias_term: true "
                           "bias_filler { type: 'gaussian' } }",
                           "scale_param { axis: 0 num_axes: -1 filler { type: 'gaussian' } }",
                           "scale_param { num_axes: 0 filler { type: 'gaussian' } }"}) {
    SCOPED_TRACE(text);
    auto b = GaussianBlob<Dtype>({2, 3, 2}, 3);
    Blob<Dtype> top;
    std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
    SeedThreadRng(5, 0);
    ScaleLayer<Dtype> layer(ParseLayer(text));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
}

TYPED_TEST(ScaleLayerTest, GradientTwoBottomsWithBias) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 2}, 3);
  auto s = GaussianBlob<Dtype>({3, 2}, 4);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get(), s.get()}, tops{&top};
  ScaleLayer<Dtype> layer(
      ParseLayer("scale_param { bias_term: true bias_filler { type: 'gaussian' } }"));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, bottom, tops);
  EXPECT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{3, 2}));
}

TYPED_TEST(ScaleLayerTest, InPlaceMatches) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3}, 3);
  auto c = GaussianBlob<Dtype>({2, 3}, 3);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top}, in_place{c.get()};
  const char* text = "scale_param { filler { type: 'constant' value: 3 } bias_term: true }";
  ScaleLayer<Dtype> layer(ParseLayer(text)), layer2(ParseLayer(text));
  layer.SetUp(bottom, tops);
  layer2.SetUp(in_place, in_place);
  layer.Forward(bottom, tops);
  layer2.Forward(in_place, in_place);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(c->cpu_data()[i], top.cpu_data()[i], 1e-6);
    top.mutable_cpu_diff()[i] = i;
    c->mutable_cpu_diff()[i] = i;
  }
  for (auto* l : {&layer, &layer2}) {
    for (auto& blob : l->blobs()) caffe_set(blob->count(), Dtype(0), blob->mutable_cpu_diff());
  }
  layer.Backward(tops, {true}, bottom);
  layer2.Backward(in_place, {true}, in_place);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(c->cpu_diff()[i], b->cpu_diff()[i], 1e-6);
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(layer2.blobs()[p]->cpu_diff()[i], layer.blobs()[p]->cpu_diff()[i], 1e-5);
    }
  }
}

TYPED_TEST(ScaleLayerTest, StoredBlobsFromModel) {
  using Dtype = TypeParam;
  // Blobs stored in the layer parameter (as in a .caffemodel) are used as is;
  // legacy 4-d dims with the right count are accepted.
  caffe::LayerParameter param = ParseLayer(
      "scale_param { bias_term: true } "
      "blobs { shape { dim: 2 } data: 2 data: 3 } "
      "blobs { num: 1 channels: 1 height: 1 width: 2 data: 1 data: -1 }");
  auto b = ValueBlob<Dtype>({1, 2}, {1, 1});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ScaleLayer<Dtype> layer(param);
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  EXPECT_NEAR(top.cpu_data()[0], 3, 1e-6);
  EXPECT_NEAR(top.cpu_data()[1], 2, 1e-6);
  caffe::LayerParameter wrong = ParseLayer("blobs { shape { dim: 3 } data: 1 data: 1 data: 1 }");
  ScaleLayer<Dtype> bad(wrong);
  EXPECT_THROW(bad.SetUp(bottom, tops), Error);
}

}  // namespace deepspark
