#include "deepspark/layers/slice_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class SliceLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(SliceLayerTest, TestDtypes);

TYPED_TEST(SliceLayerTest, SlicePointsHandValues) {
  using Dtype = TypeParam;
  // (2,4) sliced on axis 1 at 1 and 3 -> (2,1), (2,2), (2,1).
  auto b = ValueBlob<Dtype>({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  Blob<Dtype> t0, t1, t2;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1, &t2};
  SliceLayer<Dtype> layer(ParseLayer("slice_param { slice_point: 1 slice_point: 3 }"));
  layer.SetUp(bottom, tops);
  EXPECT_EQ(t0.shape(), (std::vector<int>{2, 1}));
  EXPECT_EQ(t1.shape(), (std::vector<int>{2, 2}));
  EXPECT_EQ(t2.shape(), (std::vector<int>{2, 1}));
  layer.Forward(bottom, tops);
  EXPECT_EQ(t0.cpu_data()[0], Dtype(0));
  EXPECT_EQ(t0.cpu_data()[1], Dtype(4));
  const std::vector<Dtype> mid{1, 2, 5, 6};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t1.cpu_data()[i], mid[i]);
  EXPECT_EQ(t2.cpu_data()[0], Dtype(3));
  EXPECT_EQ(t2.cpu_data()[1], Dtype(7));
}

TYPED_TEST(SliceLayerTest, EqualSplitAndDeprecatedSliceDim) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({4, 1}, {0, 1, 2, 3});
  Blob<Dtype> t0, t1;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1};
  SliceLayer<Dtype> layer(ParseLayer("slice_param { slice_dim: 0 }"));
  layer.SetUp(bottom, tops);
  EXPECT_EQ(t0.shape(), (std::vector<int>{2, 1}));
  layer.Forward(bottom, tops);
  EXPECT_EQ(t1.cpu_data()[0], Dtype(2));
  EXPECT_EQ(t1.cpu_data()[1], Dtype(3));
}

TYPED_TEST(SliceLayerTest, BadSlicePoints) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 5}, 1);
  Blob<Dtype> t0, t1, t2;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1, &t2};
  SliceLayer<Dtype> unordered(ParseLayer("slice_param { slice_point: 3 slice_point: 2 }"));
  ExpectErrorWith([&] { unordered.SetUp(bottom, tops); }, {"slice_point 1", "increasing"});
  SliceLayer<Dtype> too_far(ParseLayer("slice_param { slice_point: 2 slice_point: 5 }"));
  EXPECT_THROW(too_far.SetUp(bottom, tops), Error);
  SliceLayer<Dtype> wrong_count(ParseLayer("slice_param { slice_point: 2 }"));
  EXPECT_THROW(wrong_count.SetUp(bottom, tops), Error);
  SliceLayer<Dtype> uneven(ParseLayer(""));
  std::vector<Blob<Dtype>*> two{&t0, &t1};
  EXPECT_THROW(uneven.SetUp(bottom, two), Error);  // 5 does not split in 2
}

TYPED_TEST(SliceLayerTest, Gradient) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 4, 2}, 3);
  Blob<Dtype> t0, t1;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&t0, &t1};
  SliceLayer<Dtype> layer(ParseLayer("slice_param { slice_point: 1 }"));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, bottom, tops);
  SliceLayer<Dtype> layer2(ParseLayer("slice_param { axis: -1 }"));
  checker.CheckGradientExhaustive(&layer2, bottom, tops);
}

}  // namespace deepspark
