#include "deepspark/layers/batch_reindex_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class BatchReindexLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(BatchReindexLayerTest, TestDtypes);

TYPED_TEST(BatchReindexLayerTest, ForwardBackwardAndGradient) {
  using Dtype = TypeParam;
  auto data = ValueBlob<Dtype>({3, 2}, {1, 2, 3, 4, 5, 6});
  auto perm = ValueBlob<Dtype>({4}, {2, 0, 2, 1});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{data.get(), perm.get()}, tops{&top};
  BatchReindexLayer<Dtype> layer(ParseLayer(""));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{4, 2}));
  layer.Forward(bottom, tops);
  const std::vector<Dtype> expected{5, 6, 1, 2, 5, 6, 3, 4};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(top.cpu_data()[i], expected[i]);
  for (int i = 0; i < 8; ++i) top.mutable_cpu_diff()[i] = 1;
  layer.Backward(tops, {true, false}, bottom);
  const std::vector<Dtype> counts{1, 1, 1, 1, 2, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(data->cpu_diff()[i], counts[i]);
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, bottom, tops, 0);
  auto bad = ValueBlob<Dtype>({1}, {3});
  std::vector<Blob<Dtype>*> bad_bottom{data.get(), bad.get()};
  EXPECT_THROW(layer.Forward(bad_bottom, tops), Error);
}

}  // namespace deepspark
