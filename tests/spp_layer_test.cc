// SPP: the pooling parameters of each level, the top shape (pyramid_height 1
// too), values against a hand computation on a 3x3 input (MAX and AVE, both
// engines), STOCHASTIC, a bottom that changes size, a bottom too small, and
// gradient checks of MAX and AVE.
#include "deepspark/layers/spp_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

using caffe::SPPParameter;

caffe::LayerParameter SppParam(int height, SPPParameter::PoolMethod pool,
                               SPPParameter::Engine engine = SPPParameter::DEFAULT) {
  caffe::LayerParameter p;
  p.set_name("spp");
  p.set_type("SPP");
  p.mutable_spp_param()->set_pyramid_height(height);
  p.mutable_spp_param()->set_pool(pool);
  p.mutable_spp_param()->set_engine(engine);
  return p;
}

template <typename Dtype>
class SPPLayerTest : public ::testing::Test {
 protected:
  void SetUp() override { SeedThreadRng(1701, 0); }
  void Fill(Blob<Dtype>* blob) {
    caffe_rng_gaussian<Dtype>(blob->count(), Dtype(0), Dtype(1), blob->mutable_cpu_data());
  }
  Blob<Dtype> top_;
  std::vector<Blob<Dtype>*> top_vec_{&top_};
};
TYPED_TEST_SUITE(SPPLayerTest, TestDtypes);

TYPED_TEST(SPPLayerTest, PoolingParameters) {
  // H = 9, W = 7 at level 2 (4 bins): kernels ceil(9/4) = 3 and ceil(7/4) =
  // 2, pads (12 - 9 + 1) / 2 = 2 and (8 - 7 + 1) / 2 = 1, stride = kernel.
  auto p = SPPLayer<TypeParam>::PoolingParamFor(SppParam(3, SPPParameter::AVE), 2, 9, 7);
  const caffe::PoolingParameter& pp = p.pooling_param();
  EXPECT_EQ(pp.kernel_h(), 3u);
  EXPECT_EQ(pp.kernel_w(), 2u);
  EXPECT_EQ(pp.stride_h(), 3u);
  EXPECT_EQ(pp.stride_w(), 2u);
  EXPECT_EQ(pp.pad_h(), 2u);
  EXPECT_EQ(pp.pad_w(), 1u);
  EXPECT_EQ(pp.pool(), caffe::PoolingParameter::AVE);
  // Level 0 is the whole image, unpadded.
  p = SPPLayer<TypeParam>::PoolingParamFor(SppParam(3, SPPParameter::MAX), 0, 9, 7);
  EXPECT_EQ(p.pooling_param().kernel_h(), 9u);
  EXPECT_EQ(p.pooling_param().kernel_w(), 7u);
  EXPECT_EQ(p.pooling_param().pad_h(), 0u);
  EXPECT_EQ(p.pooling_param().pool(), caffe::PoolingParameter::MAX);
}

TYPED_TEST(SPPLayerTest, TopShape) {
  Blob<TypeParam> bottom(2, 3, 9, 8);
  this->Fill(&bottom);
  std::vector<Blob<TypeParam>*> bottom_vec{&bottom};
  auto layer = LayerRegistry<TypeParam>::CreateLayer(SppParam(3, SPPParameter::MAX));
  EXPECT_STREQ(layer->type(), "SPP");
  layer->SetUp(bottom_vec, this->top_vec_);
  // 3 channels x (1 + 4 + 16) bins.
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 63}));
  // Another H x W gives the same top; another N and C follow.
  bottom.Reshape(4, 2, 6, 13);
  this->Fill(&bottom);
  layer->Forward(bottom_vec, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{4, 42}));
  // pyramid_height 1: Caffe's single global pooling, not flattened.
  auto one = LayerRegistry<TypeParam>::CreateLayer(SppParam(1, SPPParameter::AVE));
  one->SetUp(bottom_vec, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{4, 2, 1, 1}));
}

TYPED_TEST(SPPLayerTest, ValuesByHand) {
  typedef TypeParam Dtype;
  // x = [[1 2 3] [4 5 6] [7 8 9]], channel 2 is -x. Level 1 (2 bins): kernel
  // 2, pad 1, so the windows cover rows {0}, {1, 2} and columns {0}, {1, 2};
  // AVE divides each by the padded window's 4 cells, as Caffe does.
  Blob<Dtype> bottom(1, 2, 3, 3);
  for (int i = 0; i < 9; ++i) {
    bottom.mutable_cpu_data()[i] = Dtype(i + 1);
    bottom.mutable_cpu_data()[9 + i] = -Dtype(i + 1);
  }
  std::vector<Blob<Dtype>*> bottom_vec{&bottom};
  // Level 0 (channels 0, 1), then level 1 (channel 0's 4 bins, channel 1's).
  const std::vector<Dtype> max_expected = {9, -1, 1, 3, 7, 9, -1, -2, -4, -5};
  const std::vector<Dtype> ave_expected = {5, -5, 0.25, 1.25, 2.75, 7, -0.25, -1.25, -2.75, -7};
  for (auto engine : {SPPParameter::DEFAULT, SPPParameter::CAFFE}) {
    for (auto pool : {SPPParameter::MAX, SPPParameter::AVE}) {
      SCOPED_TRACE(std::string(pool == SPPParameter::MAX ? "MAX" : "AVE") +
                   (engine == SPPParameter::CAFFE ? " CAFFE" : " DEFAULT"));
      auto layer = LayerRegistry<Dtype>::CreateLayer(SppParam(2, pool, engine));
      layer->SetUp(bottom_vec, this->top_vec_);
      layer->Forward(bottom_vec, this->top_vec_);
      const std::vector<Dtype>& expected = pool == SPPParameter::MAX ? max_expected : ave_expected;
      ASSERT_EQ(this->top_.shape(), (std::vector<int>{1, 10}));
      for (int i = 0; i < 10; ++i) EXPECT_NEAR(this->top_.cpu_data()[i], expected[i], 1e-6) << i;
    }
  }
}

TYPED_TEST(SPPLayerTest, Stochastic) {
  typedef TypeParam Dtype;
  // 4 x 4 needs no padding at level 1 (2 bins of kernel 2). TEST gives each
  // bin's sum(x^2) / sum(x); TRAIN one of the bin's values.
  Blob<Dtype> bottom(1, 1, 4, 4);
  for (int i = 0; i < 16; ++i) bottom.mutable_cpu_data()[i] = Dtype(i + 1);
  std::vector<Blob<Dtype>*> bottom_vec{&bottom};
  // The bins: the whole image, then the four 2 x 2 quarters.
  std::vector<std::vector<int>> bins = {{}};
  for (int i = 0; i < 16; ++i) bins[0].push_back(i);
  for (int bh = 0; bh < 2; ++bh) {
    for (int bw = 0; bw < 2; ++bw) {
      bins.emplace_back();
      for (int h = 2 * bh; h < 2 * bh + 2; ++h) {
        for (int w = 2 * bw; w < 2 * bw + 2; ++w) bins.back().push_back(h * 4 + w);
      }
    }
  }
  for (caffe::Phase phase : {caffe::TEST, caffe::TRAIN}) {
    auto p = SppParam(2, SPPParameter::STOCHASTIC);
    p.set_phase(phase);
    SPPLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec, this->top_vec_);
    layer.Forward(bottom_vec, this->top_vec_);
    ASSERT_EQ(this->top_.shape(), (std::vector<int>{1, 5}));
    for (size_t b = 0; b < bins.size(); ++b) {
      const Dtype out = this->top_.cpu_data()[b];
      if (phase == caffe::TEST) {
        double squares = 0, sum = 0;
        for (int i : bins[b]) squares += (i + 1) * (i + 1), sum += i + 1;
        EXPECT_NEAR(out, squares / sum, 1e-5) << b;
      } else {
        EXPECT_TRUE(std::any_of(bins[b].begin(), bins[b].end(),
                                [out](int i) { return out == Dtype(i + 1); }))
            << b << ": " << out;
      }
    }
  }
  // 3 x 3 would pad level 1: refused, as Caffe's Pooling refuses it.
  Blob<Dtype> odd(1, 1, 3, 3);
  std::vector<Blob<Dtype>*> odd_vec{&odd};
  SPPLayer<Dtype> padded(SppParam(2, SPPParameter::STOCHASTIC));
  EXPECT_THROW(padded.SetUp(odd_vec, this->top_vec_), Error);
}

TYPED_TEST(SPPLayerTest, BottomTooSmallOrBadHeight) {
  // H = 5 at level 2 (4 bins): kernel 2, pad 2, not smaller than the kernel.
  Blob<TypeParam> bottom(1, 1, 5, 8);
  std::vector<Blob<TypeParam>*> bottom_vec{&bottom};
  SPPLayer<TypeParam> small(SppParam(3, SPPParameter::MAX));
  EXPECT_THROW(small.SetUp(bottom_vec, this->top_vec_), Error);
  SPPLayer<TypeParam> zero(SppParam(0, SPPParameter::MAX));
  EXPECT_THROW(zero.SetUp(bottom_vec, this->top_vec_), Error);
  Blob<TypeParam> flat(std::vector<int>{2, 8});
  std::vector<Blob<TypeParam>*> flat_vec{&flat};
  SPPLayer<TypeParam> two_axes(SppParam(2, SPPParameter::MAX));
  EXPECT_THROW(two_axes.SetUp(flat_vec, this->top_vec_), Error);
}

TYPED_TEST(SPPLayerTest, Gradient) {
  typedef TypeParam Dtype;
  // 6 x 7 pads levels 1 (W) and 2 (both sides), so clipped windows are checked.
  Blob<Dtype> bottom(2, 2, 6, 7);
  this->Fill(&bottom);
  std::vector<Blob<Dtype>*> bottom_vec{&bottom};
  for (auto pool : {SPPParameter::MAX, SPPParameter::AVE}) {
    for (int height : {1, 3}) {
      SCOPED_TRACE(std::to_string(height) + (pool == SPPParameter::MAX ? " MAX" : " AVE"));
      auto layer = LayerRegistry<Dtype>::CreateLayer(SppParam(height, pool));
      GradientChecker<Dtype> checker(1e-4, 1e-2);
      checker.CheckGradientExhaustive(layer.get(), bottom_vec, this->top_vec_);
    }
  }
}

}  // namespace
}  // namespace deepspark
