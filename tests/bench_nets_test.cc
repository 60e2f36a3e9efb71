// The nets of issue 9's GPU step timings (bench/nets/, timed by
// scripts/gpu-check.sh) build and run here on the CPU: DummyData inputs of
// the stated batch, labels that are valid classes, the classifier's shape;
// and ResNet-50 (bench/nets/make_resnet50.py) has the paper's 25,557,032
// learnable parameters and a first loss near ln(1000).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "test_util.hpp"

namespace deepspark {
namespace {

struct BenchNet {
  std::string file;        // under bench/nets/
  int batch;               // the batch the file states
  std::string classifier;  // the last InnerProduct layer's top
  int classes;
};

const std::vector<BenchNet>& BenchNets() {
  static const std::vector<BenchNet> nets = {
      {"lenet_b64.prototxt", 64, "ip2", 10},
      {"cifar10_quick_b100.prototxt", 100, "ip2", 10},
      {"alexnet_b128.prototxt", 128, "fc8", 1000},
      {"resnet50_b32.prototxt", 32, "fc1000", 1000},
  };
  return nets;
}

// The TRAIN net of bench/nets/<file>, with every DummyData top's batch set to
// `batch` (0: as in the file). With `constant_weights`, the convolutions'
// and inner products' weights are filled with a constant instead of drawn:
// drawing AlexNet's 61 million takes seconds, and the shape checks do not
// need them random.
caffe::NetParameter ReadBenchNet(const std::string& file, int batch,
                                 bool constant_weights = false) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(SourceDir() + "/bench/nets/" + file, &param);
  param.mutable_state()->set_phase(caffe::TRAIN);
  for (auto& layer : *param.mutable_layer()) {
    if (layer.type() == "DummyData" && batch > 0) {
      for (auto& shape : *layer.mutable_dummy_data_param()->mutable_shape()) {
        shape.set_dim(0, batch);
      }
    }
    if (!constant_weights) continue;
    caffe::FillerParameter* filler = nullptr;
    if (layer.has_convolution_param()) {
      filler = layer.mutable_convolution_param()->mutable_weight_filler();
    } else if (layer.has_inner_product_param()) {
      filler = layer.mutable_inner_product_param()->mutable_weight_filler();
    }
    if (filler) {
      filler->Clear();
      filler->set_type("constant");
      filler->set_value(0.001f);
    }
  }
  return param;
}

TEST(BenchNetsTest, EveryNetStatesItsBatchAndHasOnlyTrainLayers) {
  for (const BenchNet& net : BenchNets()) {
    SCOPED_TRACE(net.file);
    const caffe::NetParameter param = ReadBenchNet(net.file, 0);
    ASSERT_GT(param.layer_size(), 0);
    const caffe::LayerParameter& data = param.layer(0);
    ASSERT_EQ(data.type(), "DummyData");
    ASSERT_EQ(data.dummy_data_param().shape_size(), 2);
    EXPECT_EQ(data.dummy_data_param().shape(0).dim(0), net.batch);
    EXPECT_EQ(data.dummy_data_param().shape(1).dim(0), net.batch);
    // Labels: uniform below the class count, so that they truncate to classes.
    const caffe::FillerParameter& label = data.dummy_data_param().data_filler(1);
    EXPECT_EQ(label.type(), "uniform");
    EXPECT_EQ(label.min(), 0);
    EXPECT_LT(label.max(), net.classes);
    EXPECT_GT(label.max(), net.classes - 1);
    for (const auto& layer : param.layer()) {
      EXPECT_NE(layer.type(), "Accuracy") << layer.name();
      EXPECT_NE(layer.type(), "Data") << layer.name();
      EXPECT_EQ(layer.include_size(), 0) << layer.name();
    }
  }
}

// ResNet-50 is built and run in the tests after this one.
TEST(BenchNetsTest, EveryNetBuildsAndRunsForwardOnTheCpu) {
  for (const BenchNet& net : BenchNets()) {
    if (net.file == "resnet50_b32.prototxt") continue;
    SCOPED_TRACE(net.file);
    // Batch 2 keeps the forward passes short on a CPU.
    const int batch = 2;
    Net<float> built(ReadBenchNet(net.file, batch, /*constant_weights=*/true));
    float loss = 0;
    built.Forward(&loss);
    EXPECT_TRUE(std::isfinite(loss)) << loss;
    const auto classifier = built.blob_by_name(net.classifier);
    ASSERT_TRUE(classifier);
    EXPECT_EQ(classifier->shape(), (std::vector<int>{batch, net.classes}));
    const auto label = built.blob_by_name("label");
    ASSERT_TRUE(label);
    for (int i = 0; i < label->count(); ++i) {
      EXPECT_GE(label->cpu_data()[i], 0);
      EXPECT_LT(static_cast<int>(label->cpu_data()[i]), net.classes);
    }
  }
}

// Shapes only (no forward): the file's batch of 32 gives a 32 x 1000
// classifier output.
TEST(BenchNetsTest, ResNet50AtItsBatchEndsIn32By1000) {
  Net<float> net(ReadBenchNet("resnet50_b32.prototxt", 0, /*constant_weights=*/true));
  EXPECT_EQ(net.blob_by_name("data")->shape(), (std::vector<int>{32, 3, 224, 224}));
  EXPECT_EQ(net.blob_by_name("pool5")->shape(), (std::vector<int>{32, 2048, 1, 1}));
  EXPECT_EQ(net.blob_by_name("fc1000")->shape(), (std::vector<int>{32, 1000}));
}

// The learnable parameters are the convolutions' weights (no biases), the
// Scale layers' gamma and beta (BatchNorm's affine part in Caffe's style)
// and fc1000's weight and bias: torchvision's resnet50 has the same
// 25,557,032 (its BatchNorm2d weight and bias are the Scale layers' here).
// BatchNorm's own blobs (mean, variance, moving-average factor) are
// statistics, not learned. Then one forward and backward at batch 1: the
// loss of fc1000's small initial weights over 1000 classes is near
// ln(1000) = 6.91, and the first layer's gradient is finite and not all zero.
TEST(BenchNetsTest, ResNet50HasThePapersParametersAndALossNearLn1000) {
  Net<float> net(ReadBenchNet("resnet50_b32.prototxt", 1));
  std::map<std::string, int> layers_of_type;
  long long learnable = 0;
  for (const auto& layer : net.layers()) {
    const std::string type = layer->type();
    ++layers_of_type[type];
    if (type == "Convolution") {
      EXPECT_EQ(layer->blobs().size(), 1u) << layer->layer_param().name() << " has a bias";
    }
    if (type != "Convolution" && type != "InnerProduct" && type != "Scale") continue;
    for (const auto& blob : layer->blobs()) learnable += blob->count();
  }
  EXPECT_EQ(learnable, 25557032);
  // 1 + 16 blocks x 3 + 4 projections; each followed by BatchNorm + Scale.
  EXPECT_EQ(layers_of_type["Convolution"], 53);
  EXPECT_EQ(layers_of_type["BatchNorm"], 53);
  EXPECT_EQ(layers_of_type["Scale"], 53);
  EXPECT_EQ(layers_of_type["Eltwise"], 16);
  EXPECT_EQ(layers_of_type["InnerProduct"], 1);
  // The spatial sizes of Table 1: conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7.
  EXPECT_EQ(net.blob_by_name("conv1")->shape(), (std::vector<int>{1, 64, 112, 112}));
  EXPECT_EQ(net.blob_by_name("res2c")->shape(), (std::vector<int>{1, 256, 56, 56}));
  EXPECT_EQ(net.blob_by_name("res3d")->shape(), (std::vector<int>{1, 512, 28, 28}));
  EXPECT_EQ(net.blob_by_name("res4f")->shape(), (std::vector<int>{1, 1024, 14, 14}));
  EXPECT_EQ(net.blob_by_name("res5c")->shape(), (std::vector<int>{1, 2048, 7, 7}));

  const float loss = net.ForwardBackward();
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, std::log(1000.0), 1.0);
  const Blob<float>& conv1 = *net.layer_by_name("conv1")->blobs()[0];
  double sum_abs = 0;
  for (int i = 0; i < conv1.count(); ++i) {
    ASSERT_TRUE(std::isfinite(conv1.cpu_diff()[i])) << i;
    sum_abs += std::fabs(conv1.cpu_diff()[i]);
  }
  EXPECT_GT(sum_abs, 0);
}

}  // namespace
}  // namespace deepspark
