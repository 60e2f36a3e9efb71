// The oneDNN engine against Caffe's CPU code (deepspark/engine.hpp): for each
// layer configuration, the same parameters and random inputs go through a
// layer made with engine CAFFE and one made with engine DNNL; tops, bottom
// diffs and parameter diffs must agree within 1e-4 relative (to the
// tensor's largest magnitude, so cancellation near zero does not count).
// Each DNNL layer is also gradient-checked, and the test says which path it
// took, so a case that silently fell back to Caffe's code is noticed.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/engine.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "layers/dnnl/dnnl_layer.hpp"

namespace deepspark {
namespace {

// Which path the DNNL-engine layer is expected to take.
enum class Path { kPrimitive, kFallback };

struct ParityCase {
  const char* name;
  const char* layer;  // LayerParameter text
  std::vector<std::vector<int>> bottoms;
  Path path;
  bool distinct_inputs = false;  // MAX windows: no near-ties (FillDistinct)
};

// Sets the process default engine for one scope.
class ScopedEngine {
 public:
  explicit ScopedEngine(ComputeEngine engine) : saved_(DefaultEngine()) {
    SetDefaultEngine(engine);
  }
  ~ScopedEngine() { SetDefaultEngine(saved_); }

 private:
  ComputeEngine saved_;
};

// Fills a blob with a random permutation of -n/2 .. n/2 times 0.025: values
// 0.025 apart, so a gradient-check step of 1e-2 never swaps which input of a
// MAX window wins. (Keep such blobs small: float sums of large values make
// the numeric gradient noisy.)
void FillDistinct(Blob<float>* blob) {
  std::vector<int> order(blob->count());
  for (int i = 0; i < blob->count(); ++i) order[i] = i - blob->count() / 2;
  std::shuffle(order.begin(), order.end(), ThreadRng());
  for (int i = 0; i < blob->count(); ++i) blob->mutable_cpu_data()[i] = 0.025f * order[i];
}

void FillInput(Blob<float>* blob) {
  caffe_rng_gaussian<float>(blob->count(), 0.f, 1.f, blob->mutable_cpu_data());
}

caffe::LayerParameter Parse(const char* text) {
  caffe::LayerParameter p;
  CHECK(google::protobuf::TextFormat::ParseFromString(text, &p)) << text;
  p.set_phase(caffe::TRAIN);
  return p;
}

std::shared_ptr<Layer<float>> Make(const caffe::LayerParameter& p, ComputeEngine engine) {
  ScopedEngine scoped(engine);
  return LayerRegistry<float>::CreateLayer(p);
}

// Whether a DNNL-engine layer ran a oneDNN primitive (false: Caffe's code,
// or oneDNN's sgemm inside it).
bool RanPrimitive(Layer<float>* layer) {
  const auto* dnnl = dynamic_cast<const DnnlLayer*>(layer);
  return dnnl != nullptr && dnnl->uses_dnnl();
}

struct Blobs {
  std::vector<std::unique_ptr<Blob<float>>> bottom, top;
  std::vector<Blob<float>*> bottom_vec, top_vec;
  explicit Blobs(const std::vector<std::vector<int>>& shapes) {
    for (const auto& s : shapes) {
      bottom.push_back(std::make_unique<Blob<float>>(s));
      bottom_vec.push_back(bottom.back().get());
      top.push_back(std::make_unique<Blob<float>>());
      top_vec.push_back(top.back().get());
    }
  }
};

void ExpectClose(const Blob<float>& ref, const Blob<float>& got, bool diff,
                 const std::string& what) {
  ASSERT_EQ(ref.shape(), got.shape()) << what;
  const float* a = diff ? ref.cpu_diff() : ref.cpu_data();
  const float* b = diff ? got.cpu_diff() : got.cpu_data();
  float scale = 0;
  for (int i = 0; i < ref.count(); ++i) scale = std::max(scale, std::fabs(a[i]));
  const float tol = 1e-4f * std::max(scale, 1e-3f);
  int bad = 0;
  for (int i = 0; i < ref.count() && bad < 5; ++i) {
    if (!(std::fabs(a[i] - b[i]) <= tol)) {
      ADD_FAILURE() << what << "[" << i << "]: caffe " << a[i] << ", dnnl " << b[i]
                    << " (tolerance " << tol << ")";
      ++bad;
    }
  }
}

class EngineParityTest : public ::testing::TestWithParam<ParityCase> {};

TEST_P(EngineParityTest, DnnlMatchesCaffe) {
  const ParityCase& c = GetParam();
  const caffe::LayerParameter param = Parse(c.layer);
  auto ref = Make(param, ComputeEngine::kCaffe);
  auto dnnl = Make(param, ComputeEngine::kDnnl);
  Blobs ref_blobs(c.bottoms), dnnl_blobs(c.bottoms);
  SetRandomSeed(1701);
  for (size_t i = 0; i < c.bottoms.size(); ++i) {
    Blob<float>* b = ref_blobs.bottom[i].get();
    c.distinct_inputs ? FillDistinct(b) : FillInput(b);
    dnnl_blobs.bottom[i]->CopyFrom(*b);
  }
  ref->SetUp(ref_blobs.bottom_vec, ref_blobs.top_vec);
  dnnl->SetUp(dnnl_blobs.bottom_vec, dnnl_blobs.top_vec);
  ASSERT_EQ(ref->blobs().size(), dnnl->blobs().size());
  for (size_t i = 0; i < ref->blobs().size(); ++i) {
    Blob<float>* w = ref->blobs()[i].get();
    caffe_rng_gaussian<float>(w->count(), 0.f, 0.5f, w->mutable_cpu_data());
    // Gradients accumulate: start both from the same non-zero diff.
    caffe_rng_gaussian<float>(w->count(), 0.f, 0.1f, w->mutable_cpu_diff());
    dnnl->blobs()[i]->CopyFrom(*w);
    dnnl->blobs()[i]->CopyFrom(*w, /*copy_diff=*/true);
  }
  ref->Forward(ref_blobs.bottom_vec, ref_blobs.top_vec);
  dnnl->Forward(dnnl_blobs.bottom_vec, dnnl_blobs.top_vec);
  EXPECT_EQ(RanPrimitive(dnnl.get()), c.path == Path::kPrimitive) << c.name;
  for (size_t i = 0; i < ref_blobs.top.size(); ++i) {
    ExpectClose(*ref_blobs.top[i], *dnnl_blobs.top[i], false, std::string(c.name) + " top");
    Blob<float>* t = ref_blobs.top[i].get();
    caffe_rng_gaussian<float>(t->count(), 0.f, 1.f, t->mutable_cpu_diff());
    dnnl_blobs.top[i]->CopyFrom(*t, /*copy_diff=*/true);
  }
  const std::vector<bool> propagate(c.bottoms.size(), true);
  ref->Backward(ref_blobs.top_vec, propagate, ref_blobs.bottom_vec);
  dnnl->Backward(dnnl_blobs.top_vec, propagate, dnnl_blobs.bottom_vec);
  for (size_t i = 0; i < ref_blobs.bottom.size(); ++i) {
    ExpectClose(*ref_blobs.bottom[i], *dnnl_blobs.bottom[i], true,
                std::string(c.name) + " bottom diff");
  }
  for (size_t i = 0; i < ref->blobs().size(); ++i) {
    ExpectClose(*ref->blobs()[i], *dnnl->blobs()[i], true,
                std::string(c.name) + " param diff " + std::to_string(i));
  }
}

// Float gradient checks of both engines (the layers' own tests check double).
TEST_P(EngineParityTest, GradientChecksOnBothEngines) {
  const ParityCase& c = GetParam();
  for (ComputeEngine engine : {ComputeEngine::kCaffe, ComputeEngine::kDnnl}) {
    SCOPED_TRACE(EngineName(engine));
    auto layer = Make(Parse(c.layer), engine);
    Blobs blobs(c.bottoms);
    SetRandomSeed(1701);
    for (auto& b : blobs.bottom) c.distinct_inputs ? FillDistinct(b.get()) : FillInput(b.get());
    // The checker skips inputs within 2e-2 of ReLU's kink at 0.
    const bool relu = std::string(c.layer).find("ReLU") != std::string::npos;
    GradientChecker<float> checker(1e-2f, 1e-2f, 1701, 0.f, relu ? 2e-2f : -1.f);
    checker.CheckGradient(layer.get(), blobs.bottom_vec, blobs.top_vec);
  }
}

const ParityCase kCases[] = {
    {"conv_rgb_3x3",
     R"(type: "Convolution" convolution_param { num_output: 16 kernel_size: 3
       pad: 1 })",
     {{2, 3, 9, 9}},
     Path::kPrimitive},
    {"conv_stride2",
     R"(type: "Convolution" convolution_param { num_output: 32 kernel_size: 3
       stride: 2 pad: 1 })",
     {{3, 16, 9, 9}},
     Path::kPrimitive},
    {"conv_floor_output",
     R"(type: "Convolution" convolution_param { num_output: 16
       kernel_size: 3 stride: 2 })",
     {{2, 16, 8, 8}},
     Path::kPrimitive},
    {"conv_group2",
     R"(type: "Convolution" convolution_param { num_output: 32 kernel_size: 3
       pad: 1 group: 2 })",
     {{2, 32, 7, 7}},
     Path::kPrimitive},
    {"conv_dilated",
     R"(type: "Convolution" convolution_param { num_output: 16 kernel_size: 3
       pad: 2 dilation: 2 })",
     {{2, 16, 9, 9}},
     Path::kPrimitive},
    {"conv_1x1_no_bias",
     R"(type: "Convolution" convolution_param { num_output: 32
       kernel_size: 1 bias_term: false })",
     {{2, 16, 5, 5}},
     Path::kPrimitive},
    {"conv_rect_kernel",
     R"(type: "Convolution" convolution_param { num_output: 16 kernel_h: 3
       kernel_w: 1 pad_h: 1 pad_w: 0 stride_h: 1 stride_w: 2 })",
     {{2, 16, 6, 7}},
     Path::kPrimitive},
    {"conv_two_bottoms",
     R"(type: "Convolution" convolution_param { num_output: 16
       kernel_size: 3 })",
     {{2, 16, 6, 6}, {2, 16, 6, 6}},
     Path::kPrimitive},
    {"conv_lenet2_sgemm",
     R"(type: "Convolution" convolution_param { num_output: 50
       kernel_size: 3 })",
     {{1, 20, 6, 6}},
     Path::kFallback},
    {"conv_3d_sgemm",
     R"(type: "Convolution" convolution_param { num_output: 4
       kernel_size: 3 pad: 1 })",
     {{1, 4, 3, 4, 4}},
     Path::kFallback},
    {"pool_max_2x2",
     R"(type: "Pooling" pooling_param { pool: MAX kernel_size: 2 stride: 2 })",
     {{1, 2, 8, 8}},
     Path::kPrimitive,
     true},
    {"pool_max_3x3_ceil",
     R"(type: "Pooling" pooling_param { pool: MAX kernel_size: 3
       stride: 2 })",
     {{1, 1, 16, 16}},
     Path::kPrimitive,
     true},
    {"pool_max_3x3_pad",
     R"(type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2
       pad: 1 })",
     {{1, 2, 9, 9}},
     Path::kPrimitive,
     true},
    {"pool_ave_3x3_ceil",
     R"(type: "Pooling" pooling_param { pool: AVE kernel_size: 3
       stride: 2 })",
     {{2, 4, 16, 16}},
     Path::kPrimitive},
    {"pool_ave_3x3_pad_same",
     R"(type: "Pooling" pooling_param { pool: AVE kernel_size: 3
       stride: 1 pad: 1 })",
     {{2, 4, 7, 7}},
     Path::kPrimitive},
    {"pool_ave_global",
     R"(type: "Pooling" pooling_param { pool: AVE global_pooling: true })",
     {{2, 6, 7, 7}},
     Path::kPrimitive},
    {"pool_ave_pad_overhang",
     R"(type: "Pooling" pooling_param { pool: AVE kernel_size: 3
       stride: 2 pad: 1 })",
     {{2, 4, 8, 8}},
     Path::kFallback},
    {"pool_max_floor",
     R"(type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2
       round_mode: FLOOR })",
     {{1, 2, 8, 8}},
     Path::kPrimitive,
     true},
    {"ip_sgemm",
     R"(type: "InnerProduct" inner_product_param { num_output: 7 })",
     {{3, 4, 3, 2}},
     Path::kFallback},
    {"ip_transpose_sgemm",
     R"(type: "InnerProduct" inner_product_param { num_output: 5
       transpose: true })",
     {{4, 6}},
     Path::kFallback},
    {"lrn_across",
     R"(type: "LRN" lrn_param { local_size: 5 alpha: 0.2 beta: 0.75 k: 2 })",
     {{2, 7, 3, 3}},
     Path::kPrimitive},
    {"lrn_across_alexnet",
     R"(type: "LRN" lrn_param { local_size: 5 alpha: 0.0001
       beta: 0.75 })",
     {{2, 16, 5, 5}},
     Path::kPrimitive},
    {"lrn_within",
     R"(type: "LRN" lrn_param { local_size: 3 alpha: 0.3 beta: 0.75
       norm_region: WITHIN_CHANNEL })",
     {{2, 3, 6, 6}},
     Path::kPrimitive},
    {"relu", R"(type: "ReLU")", {{2, 3, 4, 5}}, Path::kPrimitive},
    {"relu_leaky",
     R"(type: "ReLU" relu_param { negative_slope: 0.1 })",
     {{3, 7}},
     Path::kPrimitive},
    {"softmax_channels", R"(type: "Softmax")", {{4, 10}}, Path::kPrimitive},
    {"softmax_spatial",
     R"(type: "Softmax" softmax_param { axis: 1 })",
     {{2, 5, 3, 3}},
     Path::kPrimitive},
    {"batch_norm_train", R"(type: "BatchNorm")", {{3, 5, 4, 4}}, Path::kPrimitive},
    {"batch_norm_in_blocks",
     R"(type: "BatchNorm" batch_norm_param { eps: 0.001 })",
     {{2, 20, 3, 5}},
     Path::kPrimitive},
    {"batch_norm_2d_blob", R"(type: "BatchNorm")", {{6, 4}}, Path::kFallback},
};

INSTANTIATE_TEST_SUITE_P(Layers, EngineParityTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ParityCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace deepspark
