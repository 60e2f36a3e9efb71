#include "deepspark/layers/split_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class SplitLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(SplitLayerTest, TestDtypes);

TYPED_TEST(SplitLayerTest, ForwardCopiesAndBackwardSums) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 2}, {1, -2, 3, 4});
  Blob<Dtype> t0, t1, t2;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1, &t2};
  SplitLayer<Dtype> layer(ParseLayer("type: 'Split'"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  for (auto* t : tops) {
    ASSERT_EQ(t->shape(), b->shape());
    for (int i = 0; i < 4; ++i) EXPECT_EQ(t->cpu_data()[i], b->cpu_data()[i]);
  }
  for (int i = 0; i < 4; ++i) {
    t0.mutable_cpu_diff()[i] = i;
    t1.mutable_cpu_diff()[i] = 10 * i;
    t2.mutable_cpu_diff()[i] = 100 * i;
  }
  layer.Backward(tops, {true}, bottom);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b->cpu_diff()[i], Dtype(111 * i));
}

TYPED_TEST(SplitLayerTest, InPlaceIsAnError) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 2}, 1);
  Blob<Dtype> t1;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t1, b.get()};
  SplitLayer<Dtype> layer(ParseLayer(""));
  EXPECT_THROW(layer.SetUp(bottom, tops), Error);
}

TYPED_TEST(SplitLayerTest, Gradient) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3}, 2);
  Blob<Dtype> t0, t1;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1};
  SplitLayer<Dtype> layer(ParseLayer(""));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientEltwise(&layer, bottom, tops);
}

}  // namespace deepspark
