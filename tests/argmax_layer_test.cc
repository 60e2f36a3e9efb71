#include "deepspark/layers/argmax_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ArgMaxLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ArgMaxLayerTest, TestDtypes);

TYPED_TEST(ArgMaxLayerTest, ForwardHandValues) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 4}, {0.1, 0.9, 0.3, 0.5, 7, 2, 8, 1});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  ArgMaxLayer<Dtype> plain(ParseLayer(""));
  plain.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{2, 1, 1}));
  plain.Forward(bottom, tops);
  EXPECT_EQ(top.cpu_data()[0], Dtype(1));
  EXPECT_EQ(top.cpu_data()[1], Dtype(2));
  ArgMaxLayer<Dtype> top2(ParseLayer("argmax_param { top_k: 2 out_max_val: true }"));
  top2.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{2, 2, 2}));
  top2.Forward(bottom, tops);
  const std::vector<double> expected{1, 3, 0.9, 0.5, 2, 0, 8, 7};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-6) << i;
  ArgMaxLayer<Dtype> axis0(ParseLayer("argmax_param { axis: 0 }"));
  axis0.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{1, 4}));
  axis0.Forward(bottom, tops);
  const std::vector<double> rows{1, 1, 1, 1};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(rows[i])) << i;
  ArgMaxLayer<Dtype> axis_val(ParseLayer("argmax_param { axis: 1 out_max_val: true }"));
  axis_val.SetUp(bottom, tops);
  axis_val.Forward(bottom, tops);
  EXPECT_NEAR(top.cpu_data()[0], 0.9, 1e-6);
  EXPECT_NEAR(top.cpu_data()[1], 8, 1e-6);
  ArgMaxLayer<Dtype> too_many(ParseLayer("argmax_param { top_k: 9 }"));
  EXPECT_THROW(too_many.SetUp(bottom, tops), Error);
}

}  // namespace deepspark
