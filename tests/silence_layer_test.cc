#include "deepspark/layers/silence_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class SilenceLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(SilenceLayerTest, TestDtypes);

TYPED_TEST(SilenceLayerTest, BackwardZeroesBottomDiffs) {
  using Dtype = TypeParam;
  auto a = GaussianBlob<Dtype>({2, 3}, 1);
  auto b = GaussianBlob<Dtype>({4}, 2);
  for (int i = 0; i < a->count(); ++i) a->mutable_cpu_diff()[i] = 5;
  for (int i = 0; i < b->count(); ++i) b->mutable_cpu_diff()[i] = 7;
  std::vector<Blob<Dtype>*> bottom{a.get(), b.get()}, tops;
  SilenceLayer<Dtype> layer(ParseLayer("type: 'Silence'"));
  layer.SetUp(bottom, tops);
  EXPECT_EQ(layer.Forward(bottom, tops), Dtype(0));
  layer.Backward(tops, {true, false}, bottom);
  for (int i = 0; i < a->count(); ++i) EXPECT_EQ(a->cpu_diff()[i], Dtype(0));
  for (int i = 0; i < b->count(); ++i) EXPECT_EQ(b->cpu_diff()[i], Dtype(7));
  Blob<Dtype> extra;
  std::vector<Blob<Dtype>*> one_top{&extra};
  SilenceLayer<Dtype> bad(ParseLayer(""));
  EXPECT_THROW(bad.SetUp(bottom, one_top), Error);
}

}  // namespace deepspark
