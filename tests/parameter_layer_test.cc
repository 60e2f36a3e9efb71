#include "deepspark/layers/parameter_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class ParameterLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(ParameterLayerTest, TestDtypes);

TYPED_TEST(ParameterLayerTest, TopIsTheBlob) {
  using Dtype = TypeParam;
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom, tops{&top};
  ParameterLayer<Dtype> layer(ParseLayer("parameter_param { shape { dim: 2 dim: 3 } }"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  ASSERT_EQ(top.shape(), (std::vector<int>{2, 3}));
  EXPECT_EQ(top.cpu_data(), layer.blobs()[0]->cpu_data());
  EXPECT_EQ(top.cpu_diff(), layer.blobs()[0]->cpu_diff());
  EXPECT_TRUE(layer.param_propagate_down(0));
}

}  // namespace deepspark
