// LRN: both normalisation regions against a naive reference written from
// the formulas, the odd local_size rule, and gradient checks.
#include "deepspark/layers/lrn_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

caffe::LayerParameter LRNParam(int size, float alpha, float beta, float k, bool within) {
  caffe::LayerParameter p;
  p.set_type("LRN");
  auto* l = p.mutable_lrn_param();
  l->set_local_size(size);
  l->set_alpha(alpha);
  l->set_beta(beta);
  l->set_k(k);
  if (within) l->set_norm_region(caffe::LRNParameter::WITHIN_CHANNEL);
  return p;
}

// y = x * scale^-beta, with the scale written straight from FORMAT.md 2b.
template <typename Dtype>
std::vector<Dtype> NaiveLRN(const Blob<Dtype>& x, int size, double alpha, double beta, double k,
                            bool within) {
  const int N = x.shape(0), C = x.shape(1), H = x.shape(2), W = x.shape(3);
  const int half = (size - 1) / 2;
  std::vector<Dtype> y(x.count());
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w) {
          double sum = 0;
          double scale;
          if (!within) {
            for (int cc = c - half; cc <= c + half; ++cc) {
              if (cc < 0 || cc >= C) continue;
              sum += std::pow(x.data_at(n, cc, h, w), 2);
            }
            scale = k + alpha / size * sum;
          } else {
            for (int hh = h - half; hh <= h + half; ++hh)
              for (int ww = w - half; ww <= w + half; ++ww) {
                if (hh < 0 || ww < 0 || hh >= H || ww >= W) continue;
                sum += std::pow(x.data_at(n, c, hh, ww), 2);
              }
            scale = 1 + alpha * sum / (size * size);  // k ignored
          }
          y[x.offset(n, c, h, w)] = x.data_at(n, c, h, w) * std::pow(scale, -beta);
        }
  return y;
}

template <typename Dtype>
class LRNLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeedThreadRng(1701, 0);
    bottom_.Reshape(2, 7, 3, 3);
    caffe_rng_gaussian<Dtype>(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
    bottom_vec_ = {&bottom_};
    top_vec_ = {&top_};
  }
  // A smaller bottom keeps the exhaustive gradient checks fast.
  void UseSmallBottom() {
    bottom_.Reshape(1, 5, 3, 3);
    caffe_rng_gaussian<Dtype>(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
  }
  void CheckForward(const caffe::LayerParameter& p) {
    LRNLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec_, top_vec_);
    layer.Forward(bottom_vec_, top_vec_);
    ASSERT_EQ(top_.shape(), bottom_.shape());
    const auto& l = p.lrn_param();
    const std::vector<Dtype> ref = NaiveLRN(bottom_, l.local_size(), l.alpha(), l.beta(), l.k(),
                                            l.norm_region() == caffe::LRNParameter::WITHIN_CHANNEL);
    for (int i = 0; i < top_.count(); ++i) EXPECT_NEAR(top_.cpu_data()[i], ref[i], 1e-5) << i;
  }
  Blob<Dtype> bottom_, top_;
  std::vector<Blob<Dtype>*> bottom_vec_, top_vec_;
};
TYPED_TEST_SUITE(LRNLayerTest, TestDtypes);

TYPED_TEST(LRNLayerTest, ForwardAcrossChannels) {
  this->CheckForward(LRNParam(5, 1, 0.75, 1, false));
  this->CheckForward(LRNParam(3, 0.5, 0.6, 2, false));
  // Window larger than the channel count.
  this->CheckForward(LRNParam(9, 1e-2, 0.75, 1, false));
}

TYPED_TEST(LRNLayerTest, ForwardWithinChannel) {
  this->CheckForward(LRNParam(3, 1, 0.75, 1, true));
  // k is ignored in WITHIN_CHANNEL.
  this->CheckForward(LRNParam(3, 2, 0.5, 7, true));
  // 5x5 window over a 3x3 plane: still divided by 25.
  this->CheckForward(LRNParam(5, 1, 0.75, 1, true));
}

TYPED_TEST(LRNLayerTest, HandComputedValue) {
  typedef TypeParam Dtype;
  // One pixel, 3 channels (1, 2, 3), n = 3, alpha 3, beta 1, k 1:
  // channel 1 scale = 1 + (3/3)(1+4+9) = 15, so y = 2/15.
  Blob<Dtype> bottom(1, 3, 1, 1), top;
  for (int c = 0; c < 3; ++c) bottom.mutable_cpu_data()[c] = c + 1;
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
  LRNLayer<Dtype> layer(LRNParam(3, 3, 1, 1, false));
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  EXPECT_NEAR(top.cpu_data()[0], Dtype(1) / 6, 1e-6);  // 1 + (1+4) = 6
  EXPECT_NEAR(top.cpu_data()[1], Dtype(2) / 15, 1e-6);
  EXPECT_NEAR(top.cpu_data()[2], Dtype(3) / 14, 1e-6);  // 1 + (4+9) = 14
}

TYPED_TEST(LRNLayerTest, EvenLocalSizeIsAnError) {
  LRNLayer<TypeParam> layer(LRNParam(4, 1, 0.75, 1, false));
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
  Blob<TypeParam> flat(std::vector<int>{2, 7});
  std::vector<Blob<TypeParam>*> bv{&flat};
  LRNLayer<TypeParam> layer2(LRNParam(3, 1, 0.75, 1, false));
  EXPECT_THROW(layer2.SetUp(bv, this->top_vec_), Error);
}

TYPED_TEST(LRNLayerTest, GradientAcrossChannels) {
  typedef TypeParam Dtype;
  this->UseSmallBottom();
  for (float k : {1.f, 2.f}) {
    LRNLayer<Dtype> layer(LRNParam(5, 1, 0.75, k, false));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
  }
}

TYPED_TEST(LRNLayerTest, GradientWithinChannel) {
  typedef TypeParam Dtype;
  this->UseSmallBottom();
  for (int size : {3, 5}) {
    LRNLayer<Dtype> layer(LRNParam(size, 1, 0.75, 1, true));
    GradientChecker<Dtype> checker(1e-2, 1e-2);
    checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
  }
}

}  // namespace
}  // namespace deepspark
