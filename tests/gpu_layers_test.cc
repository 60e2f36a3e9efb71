// Layers on the GPU path (ComputeMode::kGpu): each layer with GPU code of
// its own gives the CPU path's numbers, and a whole LeNet step (layers with
// and without GPU code, their blobs copied between the sides as each needs)
// gives the CPU's loss and gradients. SKIPPED without a GPU
// (scripts/gpu-check.sh runs them on one); the mode's own rules run here.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "deepspark/gpu.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/convolution_layer.hpp"
#include "deepspark/layers/deconvolution_layer.hpp"
#include "deepspark/layers/inner_product_layer.hpp"
#include "deepspark/layers/pooling_layer.hpp"
#include "deepspark/layers/relu_layer.hpp"
#include "deepspark/layers/sigmoid_layer.hpp"
#include "deepspark/layers/softmax_layer.hpp"
#include "deepspark/layers/tanh_layer.hpp"
#include "deepspark/net.hpp"
#include "gpu_test_util.hpp"
#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

TEST(ComputeModeTest, IsPerThreadAndCpuByDefault) {
  EXPECT_EQ(CurrentComputeMode(), ComputeMode::kCpu);
  ComputeModeScope gpu(ComputeMode::kGpu);
  ComputeMode seen = ComputeMode::kGpu;
  std::thread([&] { seen = CurrentComputeMode(); }).join();
  EXPECT_EQ(seen, ComputeMode::kCpu);  // a prefetch thread computes on the CPU
  EXPECT_EQ(CurrentComputeMode(), ComputeMode::kGpu);
}

// In GPU mode on a machine without a GPU, a layer with GPU code fails with
// the reason instead of crashing (a build without CUDA runs its CPU code).
TEST(ComputeModeTest, GpuModeWithoutAGpuIsAnError) {
  std::string why;
  if (Gpu().DeviceCount(&why) > 0) GTEST_SKIP() << "a GPU is here";
  ReLULayer<float> relu(ParseLayer("name: 'relu' type: 'ReLU'"));
  auto x = GaussianBlob<float>({2, 3}, 1);
  Blob<float> y;
  std::vector<Blob<float>*> bottom{x.get()}, top{&y};
  relu.SetUp(bottom, top);
  ComputeModeScope gpu(ComputeMode::kGpu);
  if (CudaBuild()) {
    ExpectErrorWith([&] { relu.Forward(bottom, top); }, {why});
  } else {
    relu.Forward(bottom, top);
    EXPECT_EQ(y.cpu_data()[0], std::max(x->cpu_data()[0], 0.f));
  }
}

template <typename Dtype>
class GpuLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(GpuLayerTest, TestDtypes);

TYPED_TEST(GpuLayerTest, InnerProductEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* extra : {"", "transpose: true", "bias_term: false"}) {
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return std::make_unique<InnerProductLayer<TypeParam>>(ParseLayer(
              std::string("name: 'ip' type: 'InnerProduct' inner_product_param { num_output: 7 "
                          "weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: "
                          "'gaussian' std: 0.5 } ") +
              extra + " }"));
        },
        {4, 3, 2, 2}, 1e-4);
  }
  // One row: the matrix-vector path.
  ExpectGpuEqualsCpu<TypeParam>(
      [] {
        return std::make_unique<InnerProductLayer<TypeParam>>(
            ParseLayer("name: 'ip' type: 'InnerProduct' inner_product_param { num_output: 5 "
                       "weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: "
                       "'gaussian' std: 0.5 } }"));
      },
      {1, 6}, 1e-4);
}

TYPED_TEST(GpuLayerTest, ReLUEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* slope : {"", "relu_param { negative_slope: 0.1 }"}) {
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return std::make_unique<ReLULayer<TypeParam>>(
              ParseLayer(std::string("name: 'relu' type: 'ReLU' ") + slope));
        },
        {3, 4, 5}, 0);
  }
}

// Both GPU engines of convolution (cuDNN, the default where it loads, and
// Caffe's im2col/col2im kernels with the GEMMs per group) and deconvolution
// (im2col), over kernels, strides, pads, dilations, groups and 1x1.
TYPED_TEST(GpuLayerTest, ConvolutionAndDeconvolutionEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const char* shapes[] = {"kernel_size: 3",
                          "kernel_size: 3 stride: 2 pad: 1",
                          "kernel_h: 2 kernel_w: 3 pad_w: 2",
                          "kernel_size: 3 dilation: 2 pad: 2",
                          "kernel_size: 1",
                          "kernel_size: 3 group: 2 pad: 1"};
  for (const char* engine : {"DEFAULT", "CAFFE"}) {
    for (const char* shape : shapes) {
      const std::string conv = std::string("convolution_param { num_output: 4 engine: ") + engine +
                               " " + shape +
                               " weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: "
                               "'gaussian' std: 0.3 } }";
      SCOPED_TRACE(std::string(engine) + " " + shape);
      ExpectGpuEqualsCpu<TypeParam>(
          [&] {
            return std::make_unique<ConvolutionLayer<TypeParam>>(
                ParseLayer("name: 'conv' type: 'Convolution' " + conv));
          },
          {2, 4, 7, 6}, 1e-4);
      ExpectGpuEqualsCpu<TypeParam>(
          [&] {
            return std::make_unique<DeconvolutionLayer<TypeParam>>(
                ParseLayer("name: 'deconv' type: 'Deconvolution' " + conv));
          },
          {2, 4, 5, 4}, 1e-4);
    }
  }
}

// cuDNN's algorithms are chosen again when the batch changes, and a
// workspace limit of 0 still finds an algorithm (the implicit GEMM needs
// none); the layer then still gives the CPU's numbers.
TYPED_TEST(GpuLayerTest, CudnnConvolutionFollowsShapesAndWorkspaceLimit) {
  REQUIRE_GPU_OR_SKIP();
  const std::string conv =
      "name: 'conv' type: 'Convolution' convolution_param { num_output: 3 kernel_size: 3 pad: 1 "
      "engine: CUDNN weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' "
      "std: 0.3 } }";
  for (int batch : {1, 5, 2}) {
    ExpectGpuEqualsCpu<TypeParam>(
        [&] { return std::make_unique<ConvolutionLayer<TypeParam>>(ParseLayer(conv)); },
        {batch, 2, 6, 6}, 1e-4);
  }
  setenv("DEEPSPARK_CUDNN_WORKSPACE_MB", "0", 1);
  ExpectGpuEqualsCpu<TypeParam>(
      [&] { return std::make_unique<ConvolutionLayer<TypeParam>>(ParseLayer(conv)); }, {3, 2, 6, 6},
      1e-4);
  unsetenv("DEEPSPARK_CUDNN_WORKSPACE_MB");
}

// The element-wise layers with GPU code of their own, over their
// parameters (Power's four forms of dy/dx among them; PReLU's slope
// gradient per channel and shared; Tile over three axes).
TYPED_TEST(GpuLayerTest, ElementWiseLayersEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const char* layers[] = {
      "type: 'AbsVal'",
      "type: 'BNLL'",
      "type: 'ELU' elu_param { alpha: 0.5 }",
      "type: 'Exp' exp_param { base: 3 scale: 0.5 shift: 0.2 }",
      "type: 'Exp'",
      "type: 'Log' log_param { base: 2 scale: 0.1 shift: 5 }",
      "type: 'Clip' clip_param { min: -0.5 max: 0.7 }",
      "type: 'Swish' swish_param { beta: 1.5 }",
      "type: 'Power' power_param { power: 2 scale: 0.5 shift: 1 }",
      "type: 'Power' power_param { power: 3 scale: 2 }",
      "type: 'Power' power_param { power: 3 scale: 0.3 shift: 1 }",
      "type: 'Power' power_param { power: 1 scale: 0.3 shift: 1 }",
      "type: 'Power' power_param { power: 2 scale: 0 shift: 3 }",
      "type: 'PReLU' prelu_param { filler { type: 'gaussian' std: 0.5 } }",
      "type: 'PReLU' prelu_param { channel_shared: true }",
      "type: 'Tile' tile_param { axis: 1 tiles: 3 }",
      "type: 'Tile' tile_param { axis: 0 tiles: 2 }",
      "type: 'Tile' tile_param { axis: -1 tiles: 4 }",
  };
  for (const char* layer : layers) {
    SCOPED_TRACE(layer);
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return LayerRegistry<TypeParam>::CreateLayer(
              ParseLayer(std::string("name: 'under_test' ") + layer));
        },
        {2, 3, 4, 5}, 1e-5);
  }
}

// Slice along the channels (uneven parts) and along the batch, through a
// net so that every top gets a gradient.
TYPED_TEST(GpuLayerTest, SliceEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* slice :
       {"slice_param { axis: 1 slice_point: 1 slice_point: 3 }", "slice_param { axis: 0 }"}) {
    SCOPED_TRACE(slice);
    ExpectGpuNetEqualsCpu<TypeParam>(
        std::string(R"(
      force_backward: true
      layer { name: "x" type: "DummyData" top: "x"
              dummy_data_param { shape { dim: 2 dim: 4 dim: 3 dim: 2 }
                                 data_filler { type: "gaussian" std: 1 } } }
      layer { name: "slice" type: "Slice" bottom: "x" top: "a" top: "b" )") +
            (std::string(slice).find("slice_point") != std::string::npos ? "top: \"c\" " : "") +
            slice + R"( }
      layer { name: "la" type: "Power" bottom: "a" top: "la" loss_weight: 1
              power_param { power: 2 } }
      layer { name: "lb" type: "Power" bottom: "b" top: "lb" loss_weight: 2
              power_param { power: 2 } })" +
            (std::string(slice).find("slice_point") != std::string::npos ? R"(
      layer { name: "lc" type: "Power" bottom: "c" top: "lc" loss_weight: 3
              power_param { power: 2 } })"
                                                                         : "") +
            "\n",
        1e-5);
  }
}

// SigmoidCrossEntropyLoss, with targets in [0, 1) and with half of them
// ignored, under VALID and BATCH_SIZE normalization.
TYPED_TEST(GpuLayerTest, SigmoidCrossEntropyLossEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* loss_param : {"", "loss_param { ignore_label: 1 normalization: VALID }",
                                 "loss_param { ignore_label: 1 normalization: BATCH_SIZE }"}) {
    SCOPED_TRACE(loss_param);
    const std::string max = std::string(loss_param).empty() ? "0.999" : "1.999";
    ExpectGpuNetEqualsCpu<TypeParam>(std::string(R"(
      force_backward: true
      layer { name: "x" type: "DummyData" top: "x" top: "t"
              dummy_data_param { shape { dim: 3 dim: 4 dim: 5 } shape { dim: 3 dim: 4 dim: 5 }
                                 data_filler { type: "gaussian" std: 3 }
                                 data_filler { type: "uniform" min: 0 max: )") +
                                         max + R"( } } }
      layer { name: "loss" type: "SigmoidCrossEntropyLoss" bottom: "x" bottom: "t"
              top: "loss" )" + loss_param +
                                         " }\n",
                                     1e-5);
  }
}

// MAX (argmax routed back, ties to the first) and AVE (padding counted in
// the divisor), with padding, strides, CEIL windows past the edge and a
// global pool.
TYPED_TEST(GpuLayerTest, PoolingEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* method : {"MAX", "AVE"}) {
    for (const char* shape :
         {"kernel_size: 2 stride: 2", "kernel_size: 3 stride: 2 pad: 1", "kernel_size: 3 stride: 2",
          "kernel_h: 2 kernel_w: 3 stride: 1", "global_pooling: true"}) {
      SCOPED_TRACE(std::string(method) + " " + shape);
      ExpectGpuEqualsCpu<TypeParam>(
          [&] {
            return std::make_unique<PoolingLayer<TypeParam>>(
                ParseLayer(std::string("name: 'pool' type: 'Pooling' pooling_param { pool: ") +
                           method + " " + shape + " }"));
          },
          {2, 3, 7, 6}, 1e-5);
    }
  }
}

// CUDA's tanh/exp against libm's: equal to a few units in the last place.
TYPED_TEST(GpuLayerTest, SigmoidTanHAndSoftmaxEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  ExpectGpuEqualsCpu<TypeParam>(
      [] {
        return std::make_unique<SigmoidLayer<TypeParam>>(ParseLayer("name: 's' type: 'Sigmoid'"));
      },
      {3, 4, 5}, 1e-6);
  ExpectGpuEqualsCpu<TypeParam>(
      [] { return std::make_unique<TanHLayer<TypeParam>>(ParseLayer("name: 't' type: 'TanH'")); },
      {3, 4, 5}, 1e-6);
  for (const char* axis : {"", "softmax_param { axis: 2 }", "softmax_param { axis: 0 }"}) {
    SCOPED_TRACE(axis);
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return std::make_unique<SoftmaxLayer<TypeParam>>(
              ParseLayer(std::string("name: 'p' type: 'Softmax' ") + axis));
        },
        {3, 4, 5}, 1e-6);
  }
}

TYPED_TEST(GpuLayerTest, InnerProductGradientOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  InnerProductLayer<TypeParam> layer(
      ParseLayer("name: 'ip' type: 'InnerProduct' inner_product_param { num_output: 3 "
                 "weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'gaussian' "
                 "std: 0.5 } }"));
  auto x = GaussianBlob<TypeParam>({2, 4}, 3);
  Blob<TypeParam> y;
  GradientChecker<TypeParam> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&layer, {x.get()}, {&y});
}

// A LeNet step (convolution, pooling, inner product, ReLU, softmax loss) in
// GPU mode equals the CPU's: the loss and every parameter's gradient.
TYPED_TEST(GpuLayerTest, LeNetStepEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const std::string net_text = R"(
    name: "LeNet" state { phase: TRAIN }
    layer { name: "in" type: "Input" top: "data" top: "label"
            input_param { shape { dim: 8 dim: 1 dim: 28 dim: 28 } shape { dim: 8 } } }
    layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
            convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
    layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
            pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
    layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1"
            inner_product_param { num_output: 50 weight_filler { type: "xavier" } } }
    layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
    layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
            inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
  )";
  caffe::NetParameter param;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(net_text, &param));
  TypeParam losses[2];
  std::vector<std::vector<TypeParam>> grads[2];
  for (int side = 0; side < 2; ++side) {
    ComputeModeScope mode(side == 0 ? ComputeMode::kCpu : ComputeMode::kGpu);
    SeedThreadRng(7, 0);
    Net<TypeParam> net(param);
    auto data = GaussianBlob<TypeParam>({8, 1, 28, 28}, 1);
    net.blob_by_name("data")->CopyFrom(*data);
    for (int i = 0; i < 8; ++i) net.blob_by_name("label")->mutable_cpu_data()[i] = i % 10;
    net.ClearParamDiffs();
    net.Forward(&losses[side]);
    net.Backward();
    for (Blob<TypeParam>* p : net.learnable_params()) {
      grads[side].emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
    }
  }
  EXPECT_NEAR(losses[0], losses[1], 1e-4);
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (size_t p = 0; p < grads[0].size(); ++p) {
    for (size_t i = 0; i < grads[0][p].size(); ++i) {
      EXPECT_NEAR(grads[0][p][i], grads[1][p][i], 1e-4) << "param " << p << " element " << i;
    }
  }
}

}  // namespace deepspark
