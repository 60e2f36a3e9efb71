#include "deepspark/layers/batch_norm_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "deepspark/engine.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class BatchNormLayerTest : public ::testing::Test {};
TYPED_TEST_SUITE(BatchNormLayerTest, TestDtypes);

TYPED_TEST(BatchNormLayerTest, TrainForwardAndRunningStats) {
  using Dtype = TypeParam;
  // N=2, C=2, spatial 2. Channel 0 holds 1,2,3,4; channel 1 holds 0,0,0,4.
  auto b = ValueBlob<Dtype>({2, 2, 2}, {1, 2, 0, 0, 3, 4, 0, 4});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(ParseLayer("phase: TRAIN batch_norm_param { eps: 0.001 }"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  const double mean0 = 2.5, var0 = 1.25, mean1 = 1, var1 = 3;  // biased variances
  const double s0 = std::sqrt(var0 + 0.001), s1 = std::sqrt(var1 + 0.001);
  const std::vector<double> expected{(1 - mean0) / s0, (2 - mean0) / s0, -mean1 / s1,
                                     -mean1 / s1,      (3 - mean0) / s0, (4 - mean0) / s0,
                                     -mean1 / s1,      (4 - mean1) / s1};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-5) << i;
  // Running sums after one batch: factor 1, means, unbiased (m/(m-1), m=4) variances.
  auto& blobs = layer.blobs();
  ASSERT_EQ(blobs.size(), 3u);
  EXPECT_NEAR(blobs[2]->cpu_data()[0], 1, 1e-6);
  EXPECT_NEAR(blobs[0]->cpu_data()[0], mean0, 1e-6);
  EXPECT_NEAR(blobs[0]->cpu_data()[1], mean1, 1e-6);
  EXPECT_NEAR(blobs[1]->cpu_data()[0], var0 * 4 / 3, 1e-5);
  EXPECT_NEAR(blobs[1]->cpu_data()[1], var1 * 4 / 3, 1e-5);
  // A second batch decays the sums by moving_average_fraction (0.999).
  layer.Forward(bottom, tops);
  EXPECT_NEAR(blobs[2]->cpu_data()[0], 1.999, 1e-6);
  EXPECT_NEAR(blobs[0]->cpu_data()[0], mean0 * 1.999, 1e-5);
  EXPECT_NEAR(blobs[1]->cpu_data()[1], var1 * 4 / 3 * 1.999, 1e-4);
}

TYPED_TEST(BatchNormLayerTest, GlobalStatsInTest) {
  using Dtype = TypeParam;
  auto b = ValueBlob<Dtype>({1, 2, 2}, {1, 3, 2, 5});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(ParseLayer("phase: TEST"));
  layer.SetUp(bottom, tops);
  auto& blobs = layer.blobs();
  // Effective mean = sum / factor = (1, 2), variance = (4, 1).
  blobs[0]->mutable_cpu_data()[0] = 2;
  blobs[0]->mutable_cpu_data()[1] = 4;
  blobs[1]->mutable_cpu_data()[0] = 8;
  blobs[1]->mutable_cpu_data()[1] = 2;
  blobs[2]->mutable_cpu_data()[0] = 2;
  layer.Forward(bottom, tops);
  const double s0 = std::sqrt(4 + 1e-5), s1 = std::sqrt(1 + 1e-5);
  const std::vector<double> expected{0 / s0, 2 / s0, 0 / s1, 3 / s1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(top.cpu_data()[i], expected[i], 1e-5) << i;
  // Statistics are not updated in TEST.
  EXPECT_EQ(blobs[2]->cpu_data()[0], Dtype(2));
  // A zero factor means zero mean and variance.
  blobs[2]->mutable_cpu_data()[0] = 0;
  layer.Forward(bottom, tops);
  EXPECT_NEAR(top.cpu_data()[1], 3 / std::sqrt(1e-5), 1e-2);
}

TYPED_TEST(BatchNormLayerTest, UseGlobalStatsOverridesPhase) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(
      ParseLayer("phase: TRAIN batch_norm_param { use_global_stats: true }"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  EXPECT_EQ(layer.blobs()[2]->cpu_data()[0], Dtype(0));  // no update
}

TYPED_TEST(BatchNormLayerTest, StatisticsAreNotLearned) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({2, 3, 2}, 1);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(ParseLayer("phase: TRAIN param { lr_mult: 0 decay_mult: 0 }"));
  layer.SetUp(bottom, tops);
  ASSERT_EQ(layer.layer_param().param_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(layer.layer_param().param(i).lr_mult(), 0.f);
    EXPECT_FALSE(layer.param_propagate_down(i));
  }
  EXPECT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{3}));
  EXPECT_EQ(layer.blobs()[2]->shape(), (std::vector<int>{1}));
  BatchNormLayer<Dtype> learned(ParseLayer("param { lr_mult: 0 } param { lr_mult: 1 }"));
  ExpectErrorWith([&] { learned.SetUp(bottom, tops); }, {"param 1", "lr_mult"});
}

TYPED_TEST(BatchNormLayerTest, InPlaceMatches) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({3, 2, 2}, 5);
  auto c = GaussianBlob<Dtype>({3, 2, 2}, 5);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top}, in_place{c.get()};
  BatchNormLayer<Dtype> layer(ParseLayer("phase: TRAIN"));
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  BatchNormLayer<Dtype> layer2(ParseLayer("phase: TRAIN"));
  layer2.SetUp(in_place, in_place);
  layer2.Forward(in_place, in_place);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(c->cpu_data()[i], top.cpu_data()[i], 1e-6);
  for (int i = 0; i < 12; ++i) {
    top.mutable_cpu_diff()[i] = i * 0.1 - 0.4;
    c->mutable_cpu_diff()[i] = i * 0.1 - 0.4;
  }
  layer.Backward(tops, {true}, bottom);
  layer2.Backward(in_place, {true}, in_place);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(c->cpu_diff()[i], b->cpu_diff()[i], 1e-5);
}

TYPED_TEST(BatchNormLayerTest, GradientTrain) {
  using Dtype = TypeParam;
  auto b = GaussianBlob<Dtype>({3, 2, 2}, 7);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(
      ParseLayer("phase: TRAIN batch_norm_param { use_global_stats: false }"));
  GradientChecker<Dtype> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&layer, bottom, tops);
}

TYPED_TEST(BatchNormLayerTest, BackwardGlobalStats) {
  using Dtype = TypeParam;
  // With fixed statistics the layer is affine: dx = dy / sqrt(var + eps).
  // (The gradient checker would also perturb the statistics blobs, which
  // get no gradient by design, so this is checked by hand.)
  auto b = GaussianBlob<Dtype>({2, 2, 2}, 8);
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(ParseLayer("phase: TEST"));
  layer.SetUp(bottom, tops);
  for (int c = 0; c < 2; ++c) {
    layer.blobs()[0]->mutable_cpu_data()[c] = 0.3 * c;
    layer.blobs()[1]->mutable_cpu_data()[c] = 1 + 3 * c;
  }
  layer.blobs()[2]->mutable_cpu_data()[0] = 1;
  layer.Forward(bottom, tops);
  for (int i = 0; i < 8; ++i) top.mutable_cpu_diff()[i] = i + 1;
  layer.Backward(tops, {true}, bottom);
  for (int i = 0; i < 8; ++i) {
    const int c = (i / 2) % 2;
    EXPECT_NEAR(b->cpu_diff()[i], (i + 1) / std::sqrt(1 + 3 * c + 1e-5), 1e-5) << i;
  }
}

TYPED_TEST(BatchNormLayerTest, StoredStatisticsFromModel) {
  using Dtype = TypeParam;
  // Blobs as a .caffemodel stores them, with 3 lr_mult 0 param specs.
  caffe::LayerParameter param = ParseLayer(
      "phase: TEST param { lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 } "
      "blobs { shape { dim: 1 } data: 4 } blobs { shape { dim: 1 } data: 18 } "
      "blobs { shape { dim: 1 } data: 2 }");
  auto b = ValueBlob<Dtype>({2, 1}, {2, 5});
  Blob<Dtype> top;
  std::vector<Blob<Dtype>*> bottom{b.get()}, tops{&top};
  BatchNormLayer<Dtype> layer(param);
  layer.SetUp(bottom, tops);
  layer.Forward(bottom, tops);
  // mean 2, variance 9.
  EXPECT_NEAR(top.cpu_data()[0], 0, 1e-6);
  EXPECT_NEAR(top.cpu_data()[1], 3 / std::sqrt(9 + 1e-5), 1e-6);
  caffe::LayerParameter wrong = ParseLayer("blobs { shape { dim: 3 } data: 0 data: 0 data: 0 }");
  BatchNormLayer<Dtype> bad(wrong);
  EXPECT_THROW(bad.SetUp(bottom, tops), Error);
}

}  // namespace deepspark

namespace deepspark {

// Raw-pixel-like input (mean ~110, std 30) over a large spatial size: the
// batch statistics must be as accurate as Caffe's GEMM-based reductions
// (relative errors ~1e-7 on 32x3x224x224), measured against double sums.
class BatchNormStatisticsTest : public ::testing::TestWithParam<ComputeEngine> {};

TEST_P(BatchNormStatisticsTest, FloatStatisticsMatchDoubleReferenceOnLargeImages) {
  const int num = 8, channels = 3, spatial = 224 * 224;
  Blob<float> bottom(std::vector<int>{num, channels, 224, 224});
  Blob<float> top;
  SetRandomSeed(1701);
  caffe_rng_gaussian<float>(bottom.count(), 110.f, 30.f, bottom.mutable_cpu_data());
  std::vector<Blob<float>*> bottoms{&bottom}, tops{&top};
  const ComputeEngine saved = DefaultEngine();
  SetDefaultEngine(GetParam());
  std::shared_ptr<Layer<float>> made = LayerRegistry<float>::CreateLayer(
      plumbing_test::ParseLayer("type: \"BatchNorm\" phase: TRAIN"));
  SetDefaultEngine(saved);
  Layer<float>& layer = *made;
  layer.SetUp(bottoms, tops);
  layer.Forward(bottoms, tops);
  const double m = static_cast<double>(num) * spatial;
  for (int c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    for (int n = 0; n < num; ++n) {
      const float* p = bottom.cpu_data() + (static_cast<size_t>(n) * channels + c) * spatial;
      for (int s = 0; s < spatial; ++s) sum += p[s];
    }
    const double mean = sum / m;
    for (int n = 0; n < num; ++n) {
      const float* p = bottom.cpu_data() + (static_cast<size_t>(n) * channels + c) * spatial;
      for (int s = 0; s < spatial; ++s) sq += (p[s] - mean) * (p[s] - mean);
    }
    const double var_unbiased = sq / m * m / (m - 1);
    // After one batch the running sums hold the batch's mean and unbiased
    // variance (scale factor 1).
    const double got_mean = layer.blobs()[0]->cpu_data()[c];
    const double got_var = layer.blobs()[1]->cpu_data()[c];
    EXPECT_LT(std::fabs(got_mean - mean) / mean, 3e-7) << "channel " << c;
    EXPECT_LT(std::fabs(got_var - var_unbiased) / var_unbiased, 3e-7) << "channel " << c;
  }
  // And the output is normalized with them: mean ~0, variance ~1 per channel.
  for (int c = 0; c < channels; ++c) {
    double sum = 0, sq = 0;
    for (int n = 0; n < num; ++n) {
      const float* p = top.cpu_data() + (static_cast<size_t>(n) * channels + c) * spatial;
      for (int s = 0; s < spatial; ++s) {
        sum += p[s];
        sq += static_cast<double>(p[s]) * p[s];
      }
    }
    EXPECT_NEAR(sum / m, 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(sq / m, 1.0, 1e-4) << "channel " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, BatchNormStatisticsTest,
                         ::testing::Values(ComputeEngine::kCaffe, ComputeEngine::kDnnl),
                         [](const ::testing::TestParamInfo<ComputeEngine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace deepspark
