#include "deepspark/layers/reduction_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ReductionLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReductionLayerTest, TestDtypes);

TYPED_TEST(ReductionLayerTest, ForwardHandValues) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({2, 3}, {1, -2, 3, 4, 5, -6});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  struct Case {
    const char* text;
    std::vector<int> shape;
    std::vector<double> values;
  };
  const std::vector<Case> cases{
      {"", {}, {5}},
      {"reduction_param { operation: ASUM coeff: 2 }", {}, {42}},
      {"reduction_param { operation: SUMSQ axis: 1 }", {2}, {14, 77}},
      {"reduction_param { operation: MEAN axis: -1 }", {2}, {2.0 / 3, 1}},
  };
  for (const auto& c : cases) {
    ReductionLayer<Dtype> layer(ParseLayer(c.text));
    layer.SetUp(bottom, tops);
    ASSERT_EQ(top.shape(), c.shape) << c.text;
    layer.Forward(bottom, tops);
    for (size_t i = 0; i < c.values.size(); ++i) {
      EXPECT_NEAR(top.cpu_data()[i], c.values[i], 1e-5) << c.text;
    }
  }
}

TYPED_TEST(ReductionLayerTest, Gradients) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 2, 2}, 3);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  for (const char* text : {"reduction_param { operation: SUM coeff: 2 }",
                           "reduction_param { operation: ASUM axis: 1 }",
                           "reduction_param { operation: SUMSQ axis: 1 coeff: -0.5 }",
                           "reduction_param { operation: MEAN axis: 2 }"}) {
    SCOPED_TRACE(text);
    ReductionLayer<Dtype> layer(ParseLayer(text));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, bottom, tops);
  }
}

}  // namespace deepspark
