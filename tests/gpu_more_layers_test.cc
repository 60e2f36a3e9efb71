// GPU paths of SoftmaxWithLoss, EuclideanLoss, Eltwise, Split, Concat and
// Dropout (ComputeMode::kGpu): each gives the CPU path's numbers in a small
// net (DummyData inputs, every blob's data and diff compared), the losses
// and Eltwise pass a gradient check on the GPU, and Dropout's device-drawn
// mask has the right statistics and is reused by backward. SKIPPED without
// a GPU (scripts/gpu-check.sh runs them on one).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "deepspark/layers/dropout_layer.hpp"
#include "deepspark/layers/eltwise_layer.hpp"
#include "deepspark/layers/euclidean_loss_layer.hpp"
#include "deepspark/layers/softmax_loss_layer.hpp"
#include "gpu_test_util.hpp"
#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

namespace {

// A DummyData layer making blob `top` of shape `dims` ("dim: 4 dim: 3"),
// Gaussian unless `filler` says otherwise.
std::string Dummy(const std::string& top, const std::string& dims,
                  const std::string& filler = "type: 'gaussian' std: 1") {
  return "layer { name: '" + top + "' type: 'DummyData' top: '" + top +
         "' dummy_data_param { data_filler { " + filler + " } shape { " + dims + " } } }\n";
}

// Labels in {0, ..., classes - 1}: uniform in [0, classes - 0.01), truncated
// by the layer (the upper end stays clear of `classes` after rounding).
std::string Labels(const std::string& top, const std::string& dims, int classes) {
  return Dummy(top, dims, "type: 'uniform' min: 0 max: " + std::to_string(classes - 0.01));
}

// EuclideanLoss of `bottom` against a Gaussian target of shape `dims`: a
// loss at the end of a net, so that every blob gets a gradient.
std::string LossAgainstTarget(const std::string& bottom, const std::string& dims) {
  return Dummy(bottom + "_target", dims) + "layer { name: '" + bottom +
         "_loss' type: 'EuclideanLoss' bottom: '" + bottom + "' bottom: '" + bottom +
         "_target' top: '" + bottom + "_loss' }\n";
}

const char kNetHeader[] = "name: 'gpu_vs_cpu' force_backward: true\n";

// Rounding differences only (CUDA's log and exp, FMAs, cuBLAS's summation
// order), relative to max(1, |CPU value|).
template <typename Dtype>
double Tolerance() {
  return sizeof(Dtype) == 4 ? 1e-4 : 1e-9;
}

}  // namespace

template <typename Dtype>
class GpuMoreLayersTest : public ::testing::Test {};
TYPED_TEST_SUITE(GpuMoreLayersTest, TestDtypes);

// Every normalization, with and without an ignored label, the deprecated
// `normalize`, a loss weight, the probabilities as a second top and the
// softmax along another axis.
TYPED_TEST(GpuMoreLayersTest, SoftmaxWithLossEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const std::string inputs = Dummy("score", "dim: 4 dim: 5 dim: 2 dim: 3") +
                             Labels("label", "dim: 4 dim: 1 dim: 2 dim: 3", 5);
  for (const char* extra :
       {"", "loss_param { ignore_label: 1 }", "loss_param { ignore_label: 1 normalization: FULL }",
        "loss_param { ignore_label: 1 normalization: BATCH_SIZE }",
        "loss_param { ignore_label: 1 normalization: NONE }", "loss_param { normalization: FULL }",
        "loss_param { normalize: false }", "loss_weight: 2.5",
        "loss_param { ignore_label: 3 normalization: VALID } loss_weight: 0.5"}) {
    SCOPED_TRACE(extra);
    ExpectGpuNetEqualsCpu<TypeParam>(
        kNetHeader + inputs +
            "layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'score' bottom: 'label' "
            "top: 'loss' " +
            extra + " }",
        Tolerance<TypeParam>());
  }
  SCOPED_TRACE("two tops");
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + inputs +
          "layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'score' bottom: 'label' "
          "top: 'loss' top: 'prob' loss_param { ignore_label: 0 } }",
      Tolerance<TypeParam>());
  SCOPED_TRACE("axis 2");
  ExpectGpuNetEqualsCpu<TypeParam>(
      std::string(kNetHeader) + Dummy("score", "dim: 4 dim: 5 dim: 3 dim: 2") +
          Labels("label", "dim: 4 dim: 5 dim: 2", 3) +
          "layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'score' bottom: 'label' "
          "top: 'loss' softmax_param { axis: 2 } loss_param { ignore_label: 2 } }",
      Tolerance<TypeParam>());
}

// A label outside [0, channels) is the CPU path's error, found on the device.
TYPED_TEST(GpuMoreLayersTest, SoftmaxWithLossRejectsALabelOutOfRange) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  SoftmaxWithLossLayer<TypeParam> layer(ParseLayer("name: 'loss' type: 'SoftmaxWithLoss'"));
  auto score = GaussianBlob<TypeParam>({3, 5}, 1);
  Blob<TypeParam> label(std::vector<int>{3}), loss;
  label.mutable_cpu_data()[0] = 1;
  label.mutable_cpu_data()[1] = 7;
  label.mutable_cpu_data()[2] = 0;
  std::vector<Blob<TypeParam>*> bottom{score.get(), &label}, top{&loss};
  layer.SetUp(bottom, top);
  ExpectErrorWith([&] { layer.Forward(bottom, top); }, {"label 7 out of range [0, 5)"});
}

TYPED_TEST(GpuMoreLayersTest, SoftmaxWithLossGradientOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  for (const char* extra : {"", "loss_param { ignore_label: 3 normalization: FULL }"}) {
    SCOPED_TRACE(extra);
    SoftmaxWithLossLayer<TypeParam> layer(
        ParseLayer(std::string("name: 'loss' type: 'SoftmaxWithLoss' ") + extra));
    auto score = GaussianBlob<TypeParam>({2, 4, 2, 1}, 5);
    Blob<TypeParam> label(std::vector<int>{2, 1, 2, 1}), loss;
    const TypeParam labels[4] = {0, 3, 2, 1};
    for (int i = 0; i < 4; ++i) label.mutable_cpu_data()[i] = labels[i];
    GradientChecker<TypeParam> checker(1e-2, 1e-2, 1701);
    checker.CheckGradientExhaustive(&layer, {score.get(), &label}, {&loss}, 0);
  }
}

// Both bottoms get a gradient (force_backward), with a loss weight.
TYPED_TEST(GpuMoreLayersTest, EuclideanLossEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + Dummy("a", "dim: 4 dim: 3 dim: 2") + Dummy("b", "dim: 4 dim: 6") +
          "layer { name: 'loss' type: 'EuclideanLoss' bottom: 'a' bottom: 'b' top: 'loss' "
          "loss_weight: 2.5 }",
      Tolerance<TypeParam>());
}

// SUM (plain and with coefficients), PROD (stable and dividing gradients)
// and MAX (with ties: two equal constant bottoms, the first keeps the
// gradient), over two and three bottoms.
TYPED_TEST(GpuMoreLayersTest, EltwiseEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const std::string dims = "dim: 2 dim: 3 dim: 4";
  for (const char* param :
       {"operation: SUM", "operation: SUM coeff: 1 coeff: -0.5 coeff: 2", "operation: PROD",
        "operation: PROD stable_prod_grad: false", "operation: MAX"}) {
    SCOPED_TRACE(param);
    for (int bottoms : {2, 3}) {
      if (bottoms == 2 && std::string(param).find("coeff") != std::string::npos) continue;
      std::string net = kNetHeader;
      std::string layer = "layer { name: 'eltwise' type: 'Eltwise' ";
      for (int b = 0; b < bottoms; ++b) {
        const std::string name = "x" + std::to_string(b);
        net += Dummy(name, dims);
        layer += "bottom: '" + name + "' ";
      }
      net += layer + "top: 'y' eltwise_param { " + param + " } }\n" + LossAgainstTarget("y", dims);
      ExpectGpuNetEqualsCpu<TypeParam>(net, Tolerance<TypeParam>());
    }
  }
  SCOPED_TRACE("MAX with ties");
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + Dummy("x0", dims, "type: 'constant' value: 0.5") +
          Dummy("x1", dims, "type: 'constant' value: 0.5") + Dummy("x2", dims) +
          "layer { name: 'eltwise' type: 'Eltwise' bottom: 'x0' bottom: 'x1' bottom: 'x2' "
          "top: 'y' eltwise_param { operation: MAX } }\n" +
          LossAgainstTarget("y", dims),
      Tolerance<TypeParam>());
}

TYPED_TEST(GpuMoreLayersTest, EltwiseGradientOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  auto a = GaussianBlob<TypeParam>({2, 3}, 11);
  auto b = GaussianBlob<TypeParam>({2, 3}, 12);
  auto c = GaussianBlob<TypeParam>({2, 3}, 13);
  std::vector<Blob<TypeParam>*> bottom{a.get(), b.get(), c.get()};
  Blob<TypeParam> top;
  for (const char* text : {"eltwise_param { operation: SUM coeff: 1 coeff: -0.5 coeff: 2 }",
                           "eltwise_param { operation: PROD }",
                           "eltwise_param { operation: PROD stable_prod_grad: false }",
                           "eltwise_param { operation: MAX }"}) {
    SCOPED_TRACE(text);
    EltwiseLayer<TypeParam> layer(ParseLayer(std::string("name: 'e' type: 'Eltwise' ") + text));
    GradientChecker<TypeParam> checker(1e-3, 1e-2);
    checker.CheckGradientEltwise(&layer, bottom, {&top});
  }
}

// An explicit Split of three tops (their diffs differ: SUM coefficients),
// one of two tops, and the Split the Net inserts for a blob used twice.
TYPED_TEST(GpuMoreLayersTest, SplitEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const std::string dims = "dim: 3 dim: 4 dim: 2";
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + Dummy("x", dims) +
          "layer { name: 'split' type: 'Split' bottom: 'x' top: 'x1' top: 'x2' top: 'x3' }\n"
          "layer { name: 'sum' type: 'Eltwise' bottom: 'x1' bottom: 'x2' bottom: 'x3' top: 'y' "
          "eltwise_param { operation: SUM coeff: 1 coeff: 2 coeff: -0.5 } }\n" +
          LossAgainstTarget("y", dims),
      Tolerance<TypeParam>());
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + Dummy("x", dims) +
          "layer { name: 'split' type: 'Split' bottom: 'x' top: 'x1' top: 'x2' }\n"
          "layer { name: 'prod' type: 'Eltwise' bottom: 'x1' bottom: 'x2' top: 'y' "
          "eltwise_param { operation: PROD } }\n" +
          LossAgainstTarget("y", dims),
      Tolerance<TypeParam>());
  ExpectGpuNetEqualsCpu<TypeParam>(
      kNetHeader + Dummy("x", dims) + LossAgainstTarget("x", dims) +
          "layer { name: 'scaled' type: 'Eltwise' bottom: 'x' bottom: 'x_target' top: 'y' "
          "eltwise_param { operation: SUM coeff: 3 coeff: 1 } }\n" +
          LossAgainstTarget("y", dims),
      Tolerance<TypeParam>());
}

// Along axis 0 and 1 (two and three bottoms), the last axis by a negative
// index, and a bottom that takes no gradient (propagate_down: false).
TYPED_TEST(GpuMoreLayersTest, ConcatEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  struct Case {
    std::vector<std::string> bottom_dims;
    std::string param, top_dims, extra;
  };
  const std::vector<Case> cases = {
      {{"dim: 2 dim: 3 dim: 4", "dim: 3 dim: 3 dim: 4"}, "axis: 0", "dim: 5 dim: 3 dim: 4", ""},
      {{"dim: 2 dim: 3 dim: 4", "dim: 2 dim: 5 dim: 4", "dim: 2 dim: 1 dim: 4"},
       "axis: 1",
       "dim: 2 dim: 9 dim: 4",
       ""},
      {{"dim: 2 dim: 3 dim: 4", "dim: 2 dim: 3 dim: 2"}, "axis: -1", "dim: 2 dim: 3 dim: 6", ""},
      {{"dim: 2 dim: 3 dim: 4", "dim: 2 dim: 2 dim: 4"},
       "axis: 1",
       "dim: 2 dim: 5 dim: 4",
       "propagate_down: true propagate_down: false"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.param + " " + c.extra);
    std::string net = kNetHeader;
    std::string layer = "layer { name: 'concat' type: 'Concat' ";
    for (size_t b = 0; b < c.bottom_dims.size(); ++b) {
      const std::string name = "x" + std::to_string(b);
      net += Dummy(name, c.bottom_dims[b]);
      layer += "bottom: '" + name + "' ";
    }
    net += layer + "top: 'y' concat_param { " + c.param + " } " + c.extra + " }\n" +
           LossAgainstTarget("y", c.top_dims);
    ExpectGpuNetEqualsCpu<TypeParam>(net, Tolerance<TypeParam>());
  }
}

// A batch of 0 on the GPU path: the losses are 0, and nothing is launched.
TYPED_TEST(GpuMoreLayersTest, EmptyBatchOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  Blob<TypeParam> score(std::vector<int>{0, 5}), label(std::vector<int>{0}), loss;
  std::vector<Blob<TypeParam>*> bottom{&score, &label}, top{&loss};
  SoftmaxWithLossLayer<TypeParam> softmax_loss(
      ParseLayer("name: 'loss' type: 'SoftmaxWithLoss' loss_param { ignore_label: 1 }"));
  softmax_loss.SetUp(bottom, top);
  EXPECT_EQ(softmax_loss.Forward(bottom, top), 0);
  softmax_loss.Backward(top, {true, false}, bottom);
  Blob<TypeParam> target(std::vector<int>{0, 5});
  bottom[1] = &target;
  EuclideanLossLayer<TypeParam> euclidean(ParseLayer("name: 'loss' type: 'EuclideanLoss'"));
  euclidean.SetUp(bottom, top);
  EXPECT_EQ(euclidean.Forward(bottom, top), 0);
  euclidean.Backward(top, {true, true}, bottom);
  Blob<TypeParam> y;
  std::vector<Blob<TypeParam>*> one_top{&y};
  EltwiseLayer<TypeParam> max(
      ParseLayer("name: 'max' type: 'Eltwise' eltwise_param { operation: MAX }"));
  max.SetUp(bottom, one_top);
  max.Forward(bottom, one_top);
  max.Backward(one_top, {true, true}, bottom);
  EXPECT_EQ(y.count(), 0);
}

namespace {

// Dropout of ratio 0.3 on 100000 values of 2 (TRAIN unless `phase` says).
template <typename Dtype>
struct DropoutRun {
  explicit DropoutRun(caffe::Phase phase = caffe::TRAIN)
      : layer([&] {
          caffe::LayerParameter p =
              ParseLayer("name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.3 }");
          p.set_phase(phase);
          return p;
        }()),
        x(std::vector<int>{100000}) {
    caffe_set(x.count(), Dtype(2), x.mutable_cpu_data());
    layer.SetUp(bottom, top);
  }
  // Forward, then backward of a top diff of 3 everywhere.
  void Step() {
    layer.Forward(bottom, top);
    caffe_set(y.count(), Dtype(3), y.mutable_cpu_diff());
    layer.Backward(top, {true}, bottom);
  }
  DropoutLayer<Dtype> layer;
  Blob<Dtype> x, y;
  std::vector<Blob<Dtype>*> bottom{&x}, top{&y};
};

}  // namespace

// Kept values are scaled by 1 / (1 - ratio), about 1 - ratio of them are
// kept, and backward passes the diff (scaled) exactly where forward kept.
TYPED_TEST(GpuMoreLayersTest, DropoutMaskOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  SeedThreadRng(3, 0);
  DropoutRun<TypeParam> run;
  run.Step();
  const TypeParam scale = TypeParam(1) / (TypeParam(1) - TypeParam(0.3f));
  const int n = run.x.count();
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    const TypeParam y = run.y.cpu_data()[i], dx = run.x.cpu_diff()[i];
    if (y != 0) {
      ++kept;
      ASSERT_EQ(y, TypeParam(2) * scale) << i;
      ASSERT_EQ(dx, TypeParam(3) * scale) << i;
    } else {
      ASSERT_EQ(dx, 0) << i;
    }
  }
  // Binomial(100000, 0.7): standard deviation 145; 6 of them is 0.0087.
  EXPECT_NEAR(kept / double(n), 0.7, 0.0087);
}

// Each forward draws a fresh mask; the same thread seed draws the same one.
TYPED_TEST(GpuMoreLayersTest, DropoutDrawsAFreshMaskEachForward) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  DropoutRun<TypeParam> run;
  SeedThreadRng(9, 1);
  run.layer.Forward(run.bottom, run.top);
  const std::vector<TypeParam> first(run.y.cpu_data(), run.y.cpu_data() + run.y.count());
  run.layer.Forward(run.bottom, run.top);
  int differ = 0;
  for (int i = 0; i < run.y.count(); ++i) differ += (run.y.cpu_data()[i] == 0) != (first[i] == 0);
  // Independent masks differ at 2 * 0.3 * 0.7 = 42% of the values.
  EXPECT_GT(differ, run.y.count() / 4);
  SeedThreadRng(9, 1);
  run.layer.Forward(run.bottom, run.top);
  for (int i = 0; i < run.y.count(); ++i) ASSERT_EQ(run.y.cpu_data()[i], first[i]) << i;
}

// In TEST the layer is the identity, forward and backward.
TYPED_TEST(GpuMoreLayersTest, DropoutTestPhaseIsIdentityOnTheGpu) {
  REQUIRE_GPU_OR_SKIP();
  ComputeModeScope gpu(ComputeMode::kGpu);
  DropoutRun<TypeParam> run(caffe::TEST);
  run.Step();
  for (int i = 0; i < run.x.count(); ++i) {
    ASSERT_EQ(run.y.cpu_data()[i], 2) << i;
    ASSERT_EQ(run.x.cpu_diff()[i], 3) << i;
  }
}

}  // namespace deepspark
