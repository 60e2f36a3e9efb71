// BatchNorm, Scale, Bias and LRN on the GPU path (ComputeMode::kGpu) give
// the CPU path's numbers: tops, bottom and parameter gradients, and
// BatchNorm's running statistics; in place and with a second bottom through
// whole nets (gpu_test_util.hpp). Central-difference gradient checks run
// BatchNorm and LRN on the GPU path. SKIPPED without a GPU
// (scripts/gpu-check.sh runs them on one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/layers/batch_norm_layer.hpp"
#include "deepspark/layers/bias_layer.hpp"
#include "deepspark/layers/lrn_layer.hpp"
#include "deepspark/layers/scale_layer.hpp"
#include "gpu_test_util.hpp"
#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class GpuNormLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(GpuNormLayerTest, TestDtypes);

// Batch statistics (the default outside TEST) over 4-, 3- and 2-axis
// bottoms, and global statistics from fresh blobs (scale factor 0: mean and
// variance 0, so y = x / sqrt(eps), values near 300).
TYPED_TEST(GpuNormLayerTest, BatchNormEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const std::vector<int>& shape :
       std::vector<std::vector<int>>{{4, 3, 5, 2}, {5, 2, 3}, {6, 3}}) {
    SCOPED_TRACE(shape.size());
    ExpectGpuEqualsCpu<TypeParam>(
        [] {
          return std::make_unique<BatchNormLayer<TypeParam>>(
              ParseLayer("name: 'bn' type: 'BatchNorm' phase: TRAIN"));
        },
        shape, 1e-4);
  }
  ExpectGpuEqualsCpu<TypeParam>(
      [] {
        return std::make_unique<BatchNormLayer<TypeParam>>(
            ParseLayer("name: 'bn' type: 'BatchNorm' batch_norm_param { use_global_stats: true }"));
      },
      {3, 4, 2, 2}, 1e-3);
}

// Three training batches update the running sums (moving average fraction
// 0.9, the m/(m-1) correction, the scale factor); a use_global_stats layer
// given those blobs then normalizes and back-propagates with them.
TYPED_TEST(GpuNormLayerTest, BatchNormRunningStatisticsEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  using Dtype = TypeParam;
  std::vector<std::vector<Dtype>> seen[2];
  for (int side = 0; side < 2; ++side) {
    ComputeModeScope mode(side == 0 ? ComputeMode::kCpu : ComputeMode::kGpu);
    auto keep = [&](const Dtype* p, int n) { seen[side].emplace_back(p, p + n); };
    BatchNormLayer<Dtype> train(
        ParseLayer("name: 'bn' type: 'BatchNorm' phase: TRAIN batch_norm_param { "
                   "moving_average_fraction: 0.9 }"));
    Blob<Dtype> top;
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      auto x = GaussianBlob<Dtype>({3, 2, 4, 3}, seed);
      // Image-like: an offset per channel, so the means are far from 0.
      for (int i = 0; i < x->count(); ++i) x->mutable_cpu_data()[i] += Dtype((i / 12) % 2 * 5);
      std::vector<Blob<Dtype>*> bottom{x.get()}, tops{&top};
      if (seed == 1) train.SetUp(bottom, tops);
      train.Forward(bottom, tops);
      keep(top.cpu_data(), top.count());
    }
    for (const auto& blob : train.blobs()) keep(blob->cpu_data(), blob->count());
    BatchNormLayer<Dtype> test(ParseLayer("name: 'bn' type: 'BatchNorm' phase: TEST"));
    auto x = GaussianBlob<Dtype>({2, 2, 4, 3}, 9);
    std::vector<Blob<Dtype>*> bottom{x.get()}, tops{&top};
    test.SetUp(bottom, tops);
    for (int i = 0; i < 3; ++i) test.blobs()[i]->CopyFrom(*train.blobs()[i]);
    test.Forward(bottom, tops);
    for (int i = 0; i < top.count(); ++i) top.mutable_cpu_diff()[i] = Dtype(std::cos(i + 0.5));
    test.Backward(tops, {true}, bottom);
    keep(top.cpu_data(), top.count());
    keep(x->cpu_diff(), x->count());
  }
  ASSERT_EQ(seen[0].size(), seen[1].size());
  for (size_t k = 0; k < seen[0].size(); ++k) {
    for (size_t i = 0; i < seen[0][k].size(); ++i) {
      EXPECT_NEAR(seen[1][k][i], seen[0][k][i], 1e-4 * std::max(Dtype(1), std::abs(seen[0][k][i])))
          << "value set " << k << " element " << i;
    }
  }
}

// In place (bottom == top) for BatchNorm, then Scale with a bias, as in the
// nets that use them.
TYPED_TEST(GpuNormLayerTest, BatchNormAndScaleInPlaceEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  ExpectGpuNetEqualsCpu<TypeParam>(R"(
    force_backward: true state { phase: TRAIN }
    layer { name: "in" type: "DummyData" top: "data" top: "target"
            dummy_data_param { shape { dim: 4 dim: 3 dim: 5 dim: 2 } shape { dim: 4 dim: 3 dim: 5 dim: 2 }
                               data_filler { type: "gaussian" std: 2 } } }
    layer { name: "bn" type: "BatchNorm" bottom: "data" top: "data" }
    layer { name: "scale" type: "Scale" bottom: "data" top: "data"
            scale_param { bias_term: true filler { type: "gaussian" std: 1 }
                          bias_filler { type: "gaussian" std: 1 } } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "data" bottom: "target" top: "loss" }
  )",
                                   1e-4);
}

// A learned scale with and without a bias, over axes 1..1, 1..end and a
// scalar (num_axes 0), and from axis 0.
TYPED_TEST(GpuNormLayerTest, ScaleEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* bias : {"bias_term: false", "bias_term: true"}) {
    for (const char* axes :
         {"axis: 1 num_axes: 1", "axis: 1 num_axes: -1", "num_axes: 0", "axis: 0 num_axes: 2"}) {
      SCOPED_TRACE(std::string(bias) + " " + axes);
      ExpectGpuEqualsCpu<TypeParam>(
          [&] {
            return std::make_unique<ScaleLayer<TypeParam>>(ParseLayer(
                std::string("name: 's' type: 'Scale' scale_param { filler { type: 'gaussian' "
                            "std: 1 } bias_filler { type: 'gaussian' std: 1 } ") +
                bias + " " + axes + " }"));
          },
          {2, 3, 4, 5}, 1e-4);
    }
  }
}

// The factor (and the bias) as a second bottom, which gets a gradient.
TYPED_TEST(GpuNormLayerTest, ScaleAndBiasWithASecondBottomEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* layer : {"Scale", "Bias"}) {
    for (const char* factor : {"shape { dim: 3 }", "shape { dim: 3 dim: 5 }"}) {
      SCOPED_TRACE(std::string(layer) + " " + factor);
      const std::string param = std::string(layer) == "Scale" ? "scale_param" : "bias_param";
      // Scale also adds a learned bias (of the factor's shape); Bias has no blob here.
      const std::string extra = std::string(layer) == "Scale"
                                    ? "bias_term: true bias_filler { type: 'gaussian' std: 1 }"
                                    : "";
      ExpectGpuNetEqualsCpu<TypeParam>(std::string(R"(
            force_backward: true
            layer { name: "in" type: "DummyData" top: "data" top: "factor" top: "target"
                    dummy_data_param { shape { dim: 4 dim: 3 dim: 5 dim: 2 } )") +
                                           factor + R"( shape { dim: 4 dim: 3 dim: 5 dim: 2 }
                                       data_filler { type: "gaussian" std: 1 } } }
            layer { name: "op" type: ")" + layer +
                                           R"(" bottom: "data" bottom: "factor" top: "out"
                    )" + param + " { axis: 1 " +
                                           extra + R"( } }
            layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "target"
                    top: "loss" }
          )",
                                       1e-4);
    }
  }
}

// A learned bias over axes 1..1, 1..end and a scalar; and in place.
TYPED_TEST(GpuNormLayerTest, BiasEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* axes : {"axis: 1 num_axes: 1", "axis: 1 num_axes: -1", "num_axes: 0"}) {
    SCOPED_TRACE(axes);
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return std::make_unique<BiasLayer<TypeParam>>(ParseLayer(
              std::string("name: 'b' type: 'Bias' bias_param { filler { type: 'gaussian' std: 1 "
                          "} ") +
              axes + " }"));
        },
        {2, 3, 4, 5}, 1e-5);
  }
  ExpectGpuNetEqualsCpu<TypeParam>(R"(
    force_backward: true
    layer { name: "in" type: "DummyData" top: "data" top: "target"
            dummy_data_param { shape { dim: 4 dim: 3 dim: 5 } shape { dim: 4 dim: 3 dim: 5 }
                               data_filler { type: "gaussian" std: 1 } } }
    layer { name: "bias" type: "Bias" bottom: "data" top: "data"
            bias_param { filler { type: "gaussian" std: 1 } } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "data" bottom: "target" top: "loss" }
  )",
                                   1e-5);
}

// ACROSS_CHANNELS with windows of 3 and 5 (wider than half the channels),
// beta 0.75 (the square-root path) and another (pow), k 1 and 2; and
// WITHIN_CHANNEL, which runs its CPU code on the GPU path.
TYPED_TEST(GpuNormLayerTest, LRNEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* param :
       {"local_size: 3", "local_size: 5", "local_size: 5 alpha: 2 beta: 0.6 k: 2",
        "local_size: 3 norm_region: WITHIN_CHANNEL"}) {
    SCOPED_TRACE(param);
    ExpectGpuEqualsCpu<TypeParam>(
        [&] {
          return std::make_unique<LRNLayer<TypeParam>>(
              ParseLayer(std::string("name: 'lrn' type: 'LRN' lrn_param { ") + param + " }"));
        },
        {2, 7, 3, 4}, 1e-5);
  }
}

TYPED_TEST(GpuNormLayerTest, BatchNormGradientOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  BatchNormLayer<TypeParam> layer(ParseLayer("name: 'bn' type: 'BatchNorm' phase: TRAIN"));
  auto x = GaussianBlob<TypeParam>({3, 2, 2, 2}, 7);
  Blob<TypeParam> y;
  GradientChecker<TypeParam> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&layer, {x.get()}, {&y});
}

TYPED_TEST(GpuNormLayerTest, LRNGradientOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  for (const char* param : {"local_size: 3", "local_size: 5 k: 2"}) {
    SCOPED_TRACE(param);
    LRNLayer<TypeParam> layer(
        ParseLayer(std::string("name: 'lrn' type: 'LRN' lrn_param { ") + param + " }"));
    auto x = GaussianBlob<TypeParam>({2, 5, 2, 3}, 3);
    Blob<TypeParam> y;
    GradientChecker<TypeParam> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, {x.get()}, {&y});
  }
}

}  // namespace deepspark
