#include "deepspark/deploy_net.hpp"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "deepspark/common.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

// Caffe's LeNet train/test net becomes what its hand-written deploy net
// (examples/mnist/lenet.prototxt) is: an input of the given shape, the same
// layers up to ip2, no accuracy or loss; the data layer's transform comes
// back for the caller to apply.
TEST(DeployNetTest, LeNetLikeCaffesDeployNet) {
  caffe::NetParameter train_test;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt",
                            &train_test);
  caffe::TransformationParameter transform;
  const caffe::NetParameter deploy = MakeDeployNet(train_test, {7, 1, 28, 28}, &transform);
  EXPECT_FLOAT_EQ(transform.scale(), 0.00390625f);
  ASSERT_GE(deploy.layer_size(), 1);
  EXPECT_EQ(deploy.layer(0).type(), "Input");
  EXPECT_EQ(deploy.layer(0).top(0), "data");
  std::vector<std::string> names;
  for (const auto& layer : deploy.layer()) names.push_back(layer.name());
  EXPECT_EQ(names, (std::vector<std::string>{"mnist", "conv1", "pool1", "conv2", "pool2", "ip1",
                                             "relu1", "ip2"}));
  Net<float> net(deploy);
  ASSERT_EQ(net.input_blobs().size(), 1u);  // an Input layer's top is a net input, as in Caffe
  EXPECT_EQ(net.blob_by_name("data")->shape(), (std::vector<int>{7, 1, 28, 28}));
  ASSERT_EQ(net.output_blobs().size(), 1u);
  EXPECT_EQ(net.blob_names()[net.output_blob_indices()[0]], "ip2");
  EXPECT_EQ(net.output_blobs()[0]->shape(), (std::vector<int>{7, 10}));
}

TEST(DeployNetTest, OneDataLayerIsNeeded) {
  caffe::NetParameter two;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"(
    name: "two"
    layer { name: "a" type: "DummyData" top: "x" dummy_data_param { shape { dim: 1 } } }
    layer { name: "b" type: "DummyData" top: "y" dummy_data_param { shape { dim: 1 } } }
  )",
                                                            &two));
  try {
    MakeDeployNet(two, {1, 1, 1, 1}, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("found 'a' (DummyData), 'b' (DummyData)"),
              std::string::npos)
        << e.what();
  }
  two.mutable_layer()->DeleteSubrange(0, 2);
  EXPECT_THROW(MakeDeployNet(two, {1, 1, 1, 1}, nullptr), Error);
}

}  // namespace
}  // namespace deepspark
