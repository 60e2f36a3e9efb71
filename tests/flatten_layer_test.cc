#include "deepspark/layers/flatten_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class FlattenLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(FlattenLayerTest, TestDtypes);

TYPED_TEST(FlattenLayerTest, Shapes) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 4, 5}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  struct Case {
    const char* text;
    std::vector<int> shape;
  };
  const std::vector<Case> cases{
      {"", {2, 60}},
      {"flatten_param { axis: 2 }", {2, 3, 20}},
      {"flatten_param { end_axis: -2 }", {2, 12, 5}},
      {"flatten_param { axis: 0 end_axis: 1 }", {6, 4, 5}},
      {"flatten_param { axis: 3 }", {2, 3, 4, 5}},
  };
  for (const auto& c : cases) {
    FlattenLayer<Dtype> layer(ParseLayer(c.text));
    layer.SetUp(bottom, tops);
    EXPECT_EQ(top.shape(), c.shape) << c.text;
  }
}

TYPED_TEST(FlattenLayerTest, SharesDataAndDiff) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 2}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  FlattenLayer<Dtype> layer(ParseLayer(""));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  EXPECT_EQ(top.cpu_data(), b->cpu_data());
  EXPECT_EQ(top.cpu_diff(), b->cpu_diff());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(top.data_at({i / 6, i % 6}), b->cpu_data()[i]);
}

TYPED_TEST(FlattenLayerTest, Errors) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 2}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top}, in_place{b.get()};
  FlattenLayer<Dtype> reversed(ParseLayer("flatten_param { axis: 2 end_axis: 1 }"));
  EXPECT_THROW(reversed.SetUp(bottom, tops), Error);
  FlattenLayer<Dtype> far(ParseLayer("flatten_param { axis: 3 }"));
  EXPECT_THROW(far.SetUp(bottom, tops), Error);
  FlattenLayer<Dtype> inplace(ParseLayer(""));
  EXPECT_THROW(inplace.SetUp(bottom, in_place), Error);
}

TYPED_TEST(FlattenLayerTest, Gradient) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 2, 3}, 2);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  FlattenLayer<Dtype> layer(ParseLayer(""));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientEltwise(&layer, bottom, tops);
}

}  // namespace deepspark
