#include "deepspark/layers/crop_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class CropLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(CropLayerTest, TestDtypes);

TYPED_TEST(CropLayerTest, ForwardHandValues) {
  using Dtype = TypeParam;
  // (1,1,3,4) holding 0..11, cropped to (1,1,2,2) at offsets (1, 2).
  auto b = std::make_unique<Blob<Dtype>>(std::vector<int>{1, 1, 3, 4});
  for (int i = 0; i < 12; ++i) b->mutable_cpu_data()[i] = i;
  Blob<Dtype> ref(std::vector<int>{7, 5, 2, 2});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get(), &ref}, tops{&top};
  CropLayer<Dtype> layer(ParseLayer("crop_param { offset: 1 offset: 2 }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{1, 1, 2, 2}));  // axes < 2 kept from bottom 0
  layer.Forward(bottom, tops);
  const std::vector<Dtype> expected{6, 7, 10, 11};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(top.cpu_data()[i], expected[i]);
  for (int i = 0; i < 4; ++i) top.mutable_cpu_diff()[i] = i + 1;
  layer.Backward(tops, {true, false}, bottom);
  for (int i = 0; i < 12; ++i) {
    const int pos = i == 6 ? 1 : i == 7 ? 2 : i == 10 ? 3 : i == 11 ? 4 : 0;
    EXPECT_EQ(b->cpu_diff()[i], Dtype(pos)) << i;
  }
}

TYPED_TEST(CropLayerTest, Errors) {
  using Dtype = TypeParam;
  Blob<Dtype> a(std::vector<int>{2, 3, 4}), small(std::vector<int>{2, 3, 3}), top;
  std::vector<Blob<Dtype>*> bottom{&a, &small}, tops{&top};
  CropLayer<Dtype> too_far(ParseLayer("crop_param { offset: 2 }"));
  EXPECT_THROW(too_far.SetUp(bottom, tops), Error);
  CropLayer<Dtype> wrong_count(ParseLayer("crop_param { axis: 0 offset: 0 offset: 0 }"));
  EXPECT_THROW(wrong_count.SetUp(bottom, tops), Error);
  Blob<Dtype> flat(std::vector<int>{2, 3});
  std::vector<Blob<Dtype>*> mismatched{&a, &flat};
  CropLayer<Dtype> axes(ParseLayer(""));
  EXPECT_THROW(axes.SetUp(mismatched, tops), Error);
}

TYPED_TEST(CropLayerTest, Gradient) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 2, 3, 3}, 1);
  Blob<Dtype> ref(std::vector<int>{2, 1, 2, 2}), top;
  std::vector<Blob<Dtype>*> bottom{b.get(), &ref}, tops{&top};
  CropLayer<Dtype> layer(ParseLayer("crop_param { axis: 1 offset: 1 }"));
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, bottom, tops, 0);
}

}  // namespace deepspark
