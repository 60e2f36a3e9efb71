// The engine's threads (deepspark/parallel.hpp): a net's forward/backward
// with 2 threads equals the 1-thread result within float rounding (split
// gradient sums change the summation order) and repeats bit for bit with
// the same thread count, on both engines.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "deepspark/engine.hpp"
#include "deepspark/net.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace {

constexpr char kNet[] = R"(
layer { name: "data" type: "Input" top: "data" top: "target"
  input_param { shape { dim: 7 dim: 3 dim: 12 dim: 12 } shape { dim: 7 dim: 10 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 16 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.1 }
    bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "pool1" top: "pool1" }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 20 kernel_size: 3 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "norm" type: "LRN" bottom: "conv2" top: "norm" }
layer { name: "pool2" type: "Pooling" bottom: "norm" top: "pool2"
  pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool2" top: "ip"
  inner_product_param { num_output: 10 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
layer { name: "loss" type: "EuclideanLoss" bottom: "prob" bottom: "target" top: "loss" }
)";

// Parameter gradients and the loss after one forward/backward with the given
// threads (same seed, so the same weights and inputs each time).
std::vector<float> Gradients(ComputeEngine engine, int threads) {
  SetDefaultEngine(engine);
  SetNumThreads(threads);
  caffe::NetParameter param;
  CHECK(google::protobuf::TextFormat::ParseFromString(kNet, &param));
  param.mutable_state()->set_phase(caffe::TRAIN);
  SetRandomSeed(1701);
  Net<float> net(param);
  for (Blob<float>* input : net.input_blobs()) {
    caffe_rng_gaussian<float>(input->count(), 0.f, 1.f, input->mutable_cpu_data());
  }
  float loss = 0;
  net.Forward(&loss);
  net.ClearParamDiffs();
  net.Backward();
  std::vector<float> out{loss};
  for (Blob<float>* p : net.learnable_params()) {
    out.insert(out.end(), p->cpu_diff(), p->cpu_diff() + p->count());
  }
  return out;
}

class ThreadsTest : public ::testing::TestWithParam<ComputeEngine> {
 protected:
  void SetUp() override {
    saved_engine_ = DefaultEngine();
    saved_threads_ = MaxThreads();
  }
  void TearDown() override {
    SetDefaultEngine(saved_engine_);
    SetNumThreads(saved_threads_);
  }
  ComputeEngine saved_engine_;
  int saved_threads_;
};

TEST_P(ThreadsTest, TwoThreadsMatchOneAndRepeatExactly) {
  const std::vector<float> one = Gradients(GetParam(), 1);
  const std::vector<float> two = Gradients(GetParam(), 2);
  const std::vector<float> again = Gradients(GetParam(), 2);
  ASSERT_EQ(one.size(), two.size());
  float scale = 0;
  for (float v : one) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_NEAR(one[i], two[i], 1e-5f * scale) << "value " << i;
  }
  EXPECT_EQ(two, again) << "two runs with 2 threads differ";
}

INSTANTIATE_TEST_SUITE_P(Engines, ThreadsTest,
                         ::testing::Values(ComputeEngine::kCaffe, ComputeEngine::kDnnl),
                         [](const ::testing::TestParamInfo<ComputeEngine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace deepspark
