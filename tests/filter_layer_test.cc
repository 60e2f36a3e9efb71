#include "deepspark/layers/filter_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class FilterLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(FilterLayerTest, TestDtypes);

TYPED_TEST(FilterLayerTest, ForwardBackwardAndGradient) {
  using Dtype = TypeParam;
  auto data = GaussianBlob<Dtype>({4, 3}, 1);
  auto other = GaussianBlob<Dtype>({4, 1, 2}, 2);
  auto selector = ValueBlob<Dtype>({4, 1}, {0, 1, 0, 1});
  Blob<Dtype> t0, t1;
  std::vector<Blob<Dtype>*> bottom{data.get(), other.get(), selector.get()}, tops{&t0, &t1};
  FilterLayer<Dtype> layer(ParseLayer(""));
  layer.SetUp(bottom, tops);
  EXPECT_EQ(t0.shape(0), 4);  // the first shape keeps every item
  layer.Forward(bottom, tops);
  ASSERT_EQ(t0.shape(), (std::vector<int>{2, 3}));
  ASSERT_EQ(t1.shape(), (std::vector<int>{2, 1, 2}));
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(t0.cpu_data()[j], data->cpu_data()[3 + j]);
    EXPECT_EQ(t0.cpu_data()[3 + j], data->cpu_data()[9 + j]);
  }
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradient(&layer, bottom, tops, 0);
  checker.CheckGradient(&layer, bottom, tops, 1);
  std::vector<Blob<Dtype>*> one_top{&t0};
  FilterLayer<Dtype> wrong_tops(ParseLayer(""));
  EXPECT_THROW(wrong_tops.SetUp(bottom, one_top), Error);
}

}  // namespace deepspark
