// The plumbing and normalization layers are registered under Caffe's type
// strings and report them back.
#include <gtest/gtest.h>

#include <string>

#include "deepspark/layer_factory.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class PlumbingRegistryTest : public ::testing::Test {};
TYPED_TEST_SUITE(PlumbingRegistryTest, TestDtypes);

TYPED_TEST(PlumbingRegistryTest, TypesAreRegistered) {
  for (const char* type : {"Concat", "Slice", "Split", "Silence", "Eltwise", "Flatten", "Reshape",
                           "BatchNorm", "Scale", "Bias", "Crop", "Tile", "ArgMax", "Reduction",
                           "MVN", "Embed", "Parameter", "BatchReindex", "Filter"}) {
    caffe::LayerParameter param;
    param.set_type(type);
    auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
    ASSERT_TRUE(layer != nullptr) << type;
    EXPECT_EQ(std::string(layer->type()), type);
  }
}

}  // namespace deepspark
