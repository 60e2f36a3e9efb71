// The plumbing and normalization layers are registered under Caffe's type
// strings and report them back; every layer type of BVLC Caffe's registry is
// registered here too, but for a named set not built yet.
#include <gtest/gtest.h>

#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

// The whitespace-separated words of text.
std::set<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

// The type strings BVLC Caffe's master registers (REGISTER_LAYER_CLASS and
// REGISTER_LAYER_CREATOR under src/caffe, as of its last commit, 9b89154,
// Feb 2020; Python only when built WITH_PYTHON_LAYER).
const std::set<std::string>& CaffeLayerTypes() {
  static const auto* types = new std::set<std::string>(Words(
      "AbsVal Accuracy ArgMax BatchNorm BatchReindex Bias BNLL Clip Concat ContrastiveLoss "
      "Convolution Crop Data Deconvolution Dropout DummyData Eltwise ELU Embed EuclideanLoss Exp "
      "Filter Flatten HDF5Data HDF5Output HingeLoss Im2col ImageData InfogainLoss InnerProduct "
      "Input Log LRN LSTM LSTMUnit MemoryData MultinomialLogisticLoss MVN Parameter Pooling Power "
      "PReLU Python Reduction ReLU Reshape RNN Scale Sigmoid SigmoidCrossEntropyLoss Silence Slice "
      "Softmax SoftmaxWithLoss Split SPP Swish TanH Threshold Tile WindowData"));
  return *types;
}

// Registered where an interpreter runs: by the Python package's extension
// (python/src/python_layer.cc, tested in python/tests/test_python_layer.py),
// as Caffe registers it only when built WITH_PYTHON_LAYER.
const char kPythonOnly[] = "Python";

}  // namespace

TYPED_TEST(PlumbingRegistryTest, EveryCaffeTypeIsRegistered) {
  const std::vector<std::string> list = LayerRegistry<TypeParam>::LayerTypeList();
  const std::set<std::string> registered(list.begin(), list.end());
  EXPECT_EQ(CaffeLayerTypes().size(), 61u);
  EXPECT_EQ(registered.count(kPythonOnly), 0u) << "the engine alone has no interpreter";
  for (const std::string& type : CaffeLayerTypes()) {
    if (type == kPythonOnly) continue;
    EXPECT_EQ(registered.count(type), 1u) << "Caffe's layer type " << type << " is not registered";
    EXPECT_TRUE(LayerRegistry<TypeParam>::Has(type)) << type;
  }
}

}  // namespace deepspark
