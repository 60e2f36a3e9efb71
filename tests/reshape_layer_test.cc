#include "deepspark/layers/reshape_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ReshapeLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReshapeLayerTest, TestDtypes);

TYPED_TEST(ReshapeLayerTest, Shapes) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 4, 5}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  struct Case {
    const char* text;
    std::vector<int> shape;
  };
  const std::vector<Case> cases{
      {"reshape_param { shape { dim: 0 dim: -1 } }", {2, 60}},
      {"reshape_param { shape { dim: 6 dim: 20 } }", {6, 20}},
      {"reshape_param { shape { dim: 0 dim: 0 dim: 2 dim: -1 } }", {2, 3, 2, 10}},
      {"reshape_param { shape { dim: -1 dim: 5 } }", {24, 5}},
      // Only axes [1, 3) change: 3 x 4 -> 12.
      {"reshape_param { shape { dim: -1 } axis: 1 num_axes: 2 }", {2, 12, 5}},
      // Insert a 1 after the last axis (axis -1 means after the end).
      {"reshape_param { shape { dim: 1 } axis: -1 num_axes: 0 }", {2, 3, 4, 5, 1}},
      // Insert a 1 in front.
      {"reshape_param { shape { dim: 1 } axis: 0 num_axes: 0 }", {1, 2, 3, 4, 5}},
      // 0 copies the bottom dim at the same position within the range.
      {"reshape_param { shape { dim: 0 dim: 2 dim: 2 } axis: 1 num_axes: 2 }", {2, 3, 2, 2, 5}},
  };
  for (const auto& c : cases) {
    ReshapeLayer<Dtype> layer(ParseLayer(c.text));
    layer.SetUp(bottom, tops);
    EXPECT_EQ(top.shape(), c.shape) << c.text;
    EXPECT_EQ(top.cpu_data(), b->cpu_data());
    EXPECT_EQ(top.cpu_diff(), b->cpu_diff());
  }
}

TYPED_TEST(ReshapeLayerTest, Errors) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 4}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ReshapeLayer<Dtype> two_infer(ParseLayer("reshape_param { shape { dim: -1 dim: -1 } }"));
  ExpectErrorWith([&] { two_infer.SetUp(bottom, tops); }, {"-1", "at most one"});
  ReshapeLayer<Dtype> wrong_count(ParseLayer("reshape_param { shape { dim: 5 dim: 5 } }"));
  ExpectErrorWith([&] { wrong_count.SetUp(bottom, tops); }, {"25", "24"});
  ReshapeLayer<Dtype> not_divisible(ParseLayer("reshape_param { shape { dim: 5 dim: -1 } }"));
  EXPECT_THROW(not_divisible.SetUp(bottom, tops), Error);
  ReshapeLayer<Dtype> negative(ParseLayer("reshape_param { shape { dim: -2 dim: 12 } }"));
  EXPECT_THROW(negative.SetUp(bottom, tops), Error);
  ReshapeLayer<Dtype> bad_axis(ParseLayer("reshape_param { shape { dim: 1 } axis: 5 }"));
  EXPECT_THROW(bad_axis.SetUp(bottom, tops), Error);
  ReshapeLayer<Dtype> copy_past(
      ParseLayer("reshape_param { shape { dim: 0 dim: 0 dim: 0 dim: 0 } }"));
  EXPECT_THROW(copy_past.SetUp(bottom, tops), Error);
}

TYPED_TEST(ReshapeLayerTest, FollowsBottomReshape) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 4}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ReshapeLayer<Dtype> layer(ParseLayer("reshape_param { shape { dim: 0 dim: -1 } }"));
  layer.SetUp(bottom, tops);
  b->Reshape(std::vector<int>{5, 2, 2});
  layer.Forward(bottom, tops);
  EXPECT_EQ(top.shape(), (std::vector<int>{5, 4}));
}

TYPED_TEST(ReshapeLayerTest, Gradient) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 2}, 2);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ReshapeLayer<Dtype> layer(ParseLayer("reshape_param { shape { dim: 3 dim: -1 } }"));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientEltwise(&layer, bottom, tops);
}

}  // namespace deepspark
