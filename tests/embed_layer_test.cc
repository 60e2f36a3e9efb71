#include "deepspark/layers/embed_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class EmbedLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(EmbedLayerTest, TestDtypes);

TYPED_TEST(EmbedLayerTest, ForwardHandValuesAndGradient) {
  using Dtype = TypeParam;
  auto idx = ValueBlob<Dtype>({3}, {2, 0, 2});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{idx.get()}, tops{&top};
  EmbedLayer<Dtype> layer(
      ParseLayer("embed_param { num_output: 2 input_dim: 3 weight_filler { type: 'gaussian' } "
                 "bias_filler { type: 'gaussian' } }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{3, 2}));
  ASSERT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{3, 2}));
  layer.Forward(bottom, tops);
  const Dtype* w = layer.blobs()[0]->cpu_data();
  const Dtype* b = layer.blobs()[1]->cpu_data();
  EXPECT_NEAR(top.cpu_data()[0], w[4] + b[0], 1e-6);
  EXPECT_NEAR(top.cpu_data()[3], w[1] + b[1], 1e-6);
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, bottom, tops, -2);  // parameters only
  auto bad = ValueBlob<Dtype>({1}, {3});
  std::vector<Blob<Dtype>*> bad_bottom{bad.get()};
  EXPECT_THROW(layer.Forward(bad_bottom, tops), Error);
}

}  // namespace deepspark
