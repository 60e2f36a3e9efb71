#include "deepspark/layers/concat_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ConcatLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ConcatLayerTest, TestDtypes);

TYPED_TEST(ConcatLayerTest, ForwardChannelsHandValues) {
  using Dtype = TypeParam;
  // a: (2,1,2), b: (2,2,2) concatenated on axis 1 -> (2,3,2).
  auto a = ValueBlob<Dtype>({2, 1, 2}, {1, 2, 3, 4});
  auto b = ValueBlob<Dtype>({2, 2, 2}, {10, 11, 12, 13, 14, 15, 16, 17});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{a.get(), b.get()}, tops{&top};
  ConcatLayer<Dtype> layer(ParseLayer("type: 'Concat'"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{2, 3, 2}));
  layer.Forward(bottom, tops);
  const std::vector<Dtype> expected{1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(top.cpu_data()[i], expected[i]) << i;
}

TYPED_TEST(ConcatLayerTest, AxisZeroAndDeprecatedConcatDim) {
  using Dtype = TypeParam;
  auto a = ValueBlob<Dtype>({1, 2}, {1, 2});
  auto b = ValueBlob<Dtype>({2, 2}, {3, 4, 5, 6});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{a.get(), b.get()}, tops{&top};
  for (const char* text : {"concat_param { axis: 0 }", "concat_param { concat_dim: 0 }",
                           "concat_param { axis: -2 }"}) {
    ConcatLayer<Dtype> layer(ParseLayer(text));
    layer.SetUp(bottom, tops);
    ASSERT_EQ(top.shape(), (std::vector<int>{3, 2})) << text;
    layer.Forward(bottom, tops);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(i + 1)) << text;
  }
}

TYPED_TEST(ConcatLayerTest, SingleBottomSharesData) {
  using Dtype = TypeParam;
  auto a = GaussianBlob<Dtype>({2, 3}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{a.get()}, tops{&top};
  ConcatLayer<Dtype> layer(ParseLayer(""));
  layer.SetUp(bottom, tops);
  EXPECT_EQ(top.cpu_data(), a->cpu_data());
  EXPECT_EQ(top.cpu_diff(), a->cpu_diff());
}

TYPED_TEST(ConcatLayerTest, MismatchedShapesNameBottomAndShapes) {
  using Dtype = TypeParam;
  auto a = GaussianBlob<Dtype>({2, 3, 4}, 1);
  auto b = GaussianBlob<Dtype>({2, 5, 4}, 2);
  auto c = GaussianBlob<Dtype>({2, 1, 5}, 3);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{a.get(), b.get(), c.get()}, tops{&top};
  ConcatLayer<Dtype> layer(ParseLayer(""));
  ExpectErrorWith([&] { layer.SetUp(bottom, tops); }, {"bottom 2", "2 1 5 (10)", "2 3 4 (24)"});
  ConcatLayer<Dtype> both(ParseLayer("concat_param { axis: 1 concat_dim: 1 }"));
  EXPECT_THROW(both.SetUp(bottom, tops), Error);
  ConcatLayer<Dtype> far(ParseLayer("concat_param { axis: 3 }"));
  std::vector<Blob<Dtype>*> two{a.get(), b.get()};
  EXPECT_THROW(far.SetUp(two, tops), Error);
}

TYPED_TEST(ConcatLayerTest, Gradient) {
  using Dtype = TypeParam;
  for (const char* text : {"concat_param { axis: 1 }", "concat_param { axis: 0 }"}) {
    const bool axis0 = std::string(text).find("axis: 0") != std::string::npos;
    auto a = GaussianBlob<Dtype>({2, 2, 3}, 4);
    auto b = GaussianBlob<Dtype>(axis0 ? std::vector<int>{1, 2, 3} : std::vector<int>{2, 1, 3}, 5);
    Blob<Dtype> top;
    std::vector<Blob<Dtype>*> bottom{a.get(), b.get()}, tops{&top};
    ConcatLayer<Dtype> layer(ParseLayer(text));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
}

}  // namespace deepspark
