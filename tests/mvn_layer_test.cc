#include "deepspark/layers/mvn_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class MVNLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(MVNLayerTest, TestDtypes);

TYPED_TEST(MVNLayerTest, ForwardHandValues) {
  using Dtype = TypeParam;
  // One item, two channels of 2 values: (1, 3) and (2, 2).
  auto b = ValueBlob<Dtype>({1, 2, 2}, {1, 3, 2, 2});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  MVNLayer<Dtype> layer(ParseLayer("mvn_param { eps: 0.5 }"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  // Channel 0: mean 2, std 1 -> (-1, 1) / 1.5. Channel 1: std 0 -> 0.
  const std::vector<double> expected{-1 / 1.5, 1 / 1.5, 0, 0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-6) << i;
  MVNLayer<Dtype> across(
      ParseLayer("mvn_param { across_channels: true normalize_variance: false }"));
  across.SetUp(bottom, tops);
  across.Forward(bottom, tops);
  const std::vector<double> centered{-1, 1, 0, 0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(top.cpu_data()[i], centered[i], 1e-6) << i;
}

TYPED_TEST(MVNLayerTest, Gradients) {
  using Dtype = TypeParam;
  for (const char* text :
       {"", "mvn_param { normalize_variance: false }", "mvn_param { across_channels: true }"}) {
    SCOPED_TRACE(text);
    auto b = GaussianBlob<Dtype>({2, 2, 3}, 4);
    Blob<Dtype> top;
    std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
    MVNLayer<Dtype> layer(ParseLayer(text));
    // Float rounding in the normalization is ~1e-3 relative at this step size.
    GradientChecker<Dtype> checker(1e-2, sizeof(Dtype) == 4 ? 1e-2 : 1e-3);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
}

}  // namespace deepspark
