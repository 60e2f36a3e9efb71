#include "deepspark/layers/tile_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class TileLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(TileLayerTest, TestDtypes);

TYPED_TEST(TileLayerTest, ForwardAndGradient) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 2}, {1, 2, 3, 4});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  TileLayer<Dtype> layer(ParseLayer("tile_param { axis: 1 tiles: 3 }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{2, 6}));
  layer.Forward(bottom, tops);
  const std::vector<Dtype> expected{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(top.cpu_data()[i], expected[i]);
  TileLayer<Dtype> layer0(ParseLayer("tile_param { axis: 0 tiles: 2 }"));
  layer0.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{4, 2}));
  layer0.Forward(bottom, tops);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(i % 4 + 1));
  TileLayer<Dtype> no_tiles(ParseLayer(""));
  EXPECT_THROW(no_tiles.SetUp(bottom, tops), Error);
  auto g = GaussianBlob<Dtype>({2, 3, 2}, 2);
  std::vector<Blob<Dtype>*> gb{g.get()};
  TileLayer<Dtype> grad(ParseLayer("tile_param { axis: 1 tiles: 2 }"));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&grad, gb, tops);
}

}  // namespace deepspark
