#include "deepspark/layers/bias_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class BiasLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(BiasLayerTest, TestDtypes);

TYPED_TEST(BiasLayerTest, ForwardHandValues) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BiasLayer<Dtype> layer(ParseLayer("bias_param { axis: 1 num_axes: 2 }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{2, 2}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(layer.blobs()[0]->cpu_data()[i], Dtype(0));  // default filler constant 0
    layer.blobs()[0]->mutable_cpu_data()[i] = 10 * (i + 1);
  }
  layer.Forward(bottom, tops);
  const std::vector<double> expected{11, 22, 33, 44, 15, 26, 37, 48};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(expected[i])) << i;
}

TYPED_TEST(BiasLayerTest, TwoBottomsAndErrors) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto bias = ValueBlob<Dtype>({3}, {1, 0, -1});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get(), bias.get()}, tops{&top};
  BiasLayer<Dtype> layer(ParseLayer(""));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  const std::vector<double> expected{2, 2, 2, 5, 5, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(expected[i])) << i;
  BiasLayer<Dtype> wrong_axis(ParseLayer("bias_param { axis: 0 }"));
  EXPECT_THROW(wrong_axis.SetUp(bottom, tops), Error);
}

TYPED_TEST(BiasLayerTest, Gradients) {
  using Dtype = TypeParam;
  {
    auto b = GaussianBlob<Dtype>({2, 3, 2}, 3);
    Blob<Dtype> top;
    std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
    BiasLayer<Dtype> layer(ParseLayer("bias_param { filler { type: 'gaussian' } }"));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
  {
    auto b = GaussianBlob<Dtype>({2, 3, 2}, 3);
    auto bias = GaussianBlob<Dtype>({2, 3}, 4);
    Blob<Dtype> top;
    std::vector<Blob<Dtype>*> bottom{b.get(), bias.get()}, tops{&top};
    BiasLayer<Dtype> layer(ParseLayer("bias_param { axis: 0 }"));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
}

}  // namespace deepspark
