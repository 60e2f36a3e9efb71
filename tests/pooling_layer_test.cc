// Pooling: Caffe's output-size rule (CEIL with the pad correction, FLOOR),
// MAX/AVE values against hand-computed numbers and a naive reference,
// STOCHASTIC sampling, parameter errors, and gradient checks.
#include "deepspark/layers/pooling_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <vector>

#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

using caffe::PoolingParameter;

caffe::LayerParameter PoolParam(PoolingParameter::PoolMethod method, int kernel, int stride,
                                int pad) {
  caffe::LayerParameter p;
  p.set_type("Pooling");
  auto* pp = p.mutable_pooling_param();
  pp->set_pool(method);
  pp->set_kernel_size(kernel);
  pp->set_stride(stride);
  if (pad) pp->set_pad(pad);
  return p;
}

template <typename Dtype>
class PoolingLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeedThreadRng(1701, 0);
    bottom_.Reshape(2, 3, 5, 5);
    caffe_rng_gaussian<Dtype>(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
    bottom_vec_ = {&bottom_};
    top_vec_ = {&top_};
  }
  std::vector<int> TopShape(const caffe::LayerParameter& p, int h, int w) {
    Blob<Dtype> bottom(1, 1, h, w), top;
    std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
    PoolingLayer<Dtype> layer(p);
    layer.SetUp(bv, tv);
    return {top.shape(2), top.shape(3)};
  }
  Blob<Dtype> bottom_, top_;
  std::vector<Blob<Dtype>*> bottom_vec_, top_vec_;
};
TYPED_TEST_SUITE(PoolingLayerTest, TestDtypes);

TYPED_TEST(PoolingLayerTest, OutputShapeRounding) {
  // No pad: ceil((5-2)/2)+1 = 3 (CEIL), floor -> 2.
  auto p = PoolParam(PoolingParameter::MAX, 2, 2, 0);
  EXPECT_EQ(this->TopShape(p, 5, 5), (std::vector<int>{3, 3}));
  p.mutable_pooling_param()->set_round_mode(PoolingParameter::FLOOR);
  EXPECT_EQ(this->TopShape(p, 5, 5), (std::vector<int>{2, 2}));
  // Pad 1: ceil((5+2-2)/2)+1 = 4, and (4-1)*2 >= 5+1 drops it to 3.
  p = PoolParam(PoolingParameter::MAX, 2, 2, 1);
  EXPECT_EQ(this->TopShape(p, 5, 5), (std::vector<int>{3, 3}));
  // Pad 1, 6x6, k3 s2: ceil(5/2)+1 = 4, (4-1)*2 = 6 < 7: stays 4.
  p = PoolParam(PoolingParameter::AVE, 3, 2, 1);
  EXPECT_EQ(this->TopShape(p, 6, 6), (std::vector<int>{4, 4}));
  // Rectangular kernel/stride/pad.
  p = PoolParam(PoolingParameter::MAX, 1, 1, 0);
  auto* pp = p.mutable_pooling_param();
  pp->clear_kernel_size();
  pp->clear_stride();
  pp->set_kernel_h(3);
  pp->set_kernel_w(2);
  pp->set_stride_h(2);
  pp->set_stride_w(1);
  pp->set_pad_h(1);
  pp->set_pad_w(0);
  // H: ceil((7+2-3)/2)+1 = 4, (3*2=6) >= 8? no. W: (4-2)/1+1 = 3.
  EXPECT_EQ(this->TopShape(p, 7, 4), (std::vector<int>{4, 3}));
  // Global pooling: 1x1.
  caffe::LayerParameter g;
  g.mutable_pooling_param()->set_global_pooling(true);
  EXPECT_EQ(this->TopShape(g, 4, 6), (std::vector<int>{1, 1}));
}

TYPED_TEST(PoolingLayerTest, ForwardMaxHandComputed) {
  typedef TypeParam Dtype;
  // 1x1x3x5, kernel 2, stride 1 -> 2x4 (Caffe's classic test input).
  Blob<Dtype> bottom(1, 1, 3, 5), top, mask;
  const Dtype in[15] = {1, 2, 5, 2, 3, 9, 4, 1, 4, 8, 1, 2, 5, 2, 3};
  std::copy(in, in + 15, bottom.mutable_cpu_data());
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top, &mask};
  PoolingLayer<Dtype> layer(PoolParam(PoolingParameter::MAX, 2, 1, 0));
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  const Dtype want[8] = {9, 5, 5, 8, 9, 5, 5, 8};
  const Dtype want_mask[8] = {5, 2, 2, 9, 5, 12, 12, 9};
  ASSERT_EQ(top.count(), 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(top.cpu_data()[i], want[i]) << i;
    EXPECT_EQ(mask.cpu_data()[i], want_mask[i]) << i;
  }
}

TYPED_TEST(PoolingLayerTest, ForwardMaxPaddingNeverWins) {
  typedef TypeParam Dtype;
  Blob<Dtype> bottom(1, 1, 3, 3), top;
  caffe_set(9, Dtype(-2), bottom.mutable_cpu_data());
  bottom.mutable_cpu_data()[4] = -1;
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
  PoolingLayer<Dtype> layer(PoolParam(PoolingParameter::MAX, 3, 1, 1));
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  ASSERT_EQ(top.count(), 9);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(top.cpu_data()[i], Dtype(-1));
}

TYPED_TEST(PoolingLayerTest, ForwardAveDivisorCountsPadding) {
  typedef TypeParam Dtype;
  // All ones, k3 s1 p1: each window is divided by 9 (pad cells inside
  // in+pad count), so corners are 4/9, edges 6/9, the centre 1.
  Blob<Dtype> bottom(1, 1, 3, 3), top;
  caffe_set(9, Dtype(1), bottom.mutable_cpu_data());
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
  PoolingLayer<Dtype> layer(PoolParam(PoolingParameter::AVE, 3, 1, 1));
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  const Dtype want[9] = {4. / 9, 6. / 9, 4. / 9, 6. / 9, 1, 6. / 9, 4. / 9, 6. / 9, 4. / 9};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(top.cpu_data()[i], want[i], 1e-6) << i;
  // 4x4, k3 s2 p1 -> 3x3. The last window starts at 3 and ends at
  // min(3+3, 4+1) = 5: divisor 2 per axis though only one real cell.
  Blob<Dtype> b4(1, 1, 4, 4);
  for (int i = 0; i < 16; ++i) b4.mutable_cpu_data()[i] = i;
  std::vector<Blob<Dtype>*> bv4{&b4};
  PoolingLayer<Dtype> layer4(PoolParam(PoolingParameter::AVE, 3, 2, 1));
  layer4.SetUp(bv4, tv);
  layer4.Forward(bv4, tv);
  ASSERT_EQ(top.shape(), (std::vector<int>{1, 1, 3, 3}));
  EXPECT_NEAR(top.data_at(0, 0, 2, 2), Dtype(15) / 4, 1e-6);
  // (0,0): rows -1..1, cols -1..1 -> cells {0,1,4,5} / 9.
  EXPECT_NEAR(top.data_at(0, 0, 0, 0), Dtype(0 + 1 + 4 + 5) / 9, 1e-6);
  // (1,2): rows 1..3, cols 3..4(+pad) -> cells {7,11,15} / (3*2).
  EXPECT_NEAR(top.data_at(0, 0, 1, 2), Dtype(7 + 11 + 15) / 6, 1e-6);
}

TYPED_TEST(PoolingLayerTest, EmptyLastWindowIsSafe) {
  typedef TypeParam Dtype;
  // H = W = 5, kernel 1, stride 3, no pad: CEIL gives ceil(4/3)+1 = 3 and the
  // last window starts at 6, outside the image (as in Caffe).
  for (auto method : {PoolingParameter::MAX, PoolingParameter::AVE, PoolingParameter::STOCHASTIC}) {
    Blob<Dtype> bottom(1, 1, 5, 5), top;
    caffe_set(25, Dtype(1), bottom.mutable_cpu_data());
    std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
    PoolingLayer<Dtype> layer(PoolParam(method, 1, 3, 0));
    layer.SetUp(bv, tv);
    ASSERT_EQ(top.shape(), (std::vector<int>{1, 1, 3, 3}));
    layer.Forward(bv, tv);
    EXPECT_EQ(top.data_at(0, 0, 0, 0), Dtype(1));
    if (method == PoolingParameter::MAX) {
      EXPECT_EQ(top.data_at(0, 0, 2, 2), Dtype(-FLT_MAX));
    }
    if (method == PoolingParameter::AVE) {
      EXPECT_EQ(top.data_at(0, 0, 2, 2), Dtype(0));
    }
    caffe_set(top.count(), Dtype(1), top.mutable_cpu_diff());
    layer.Backward(tv, {true}, bv);
    EXPECT_EQ(bottom.diff_at(0, 0, 3, 3), Dtype(1));
    EXPECT_EQ(bottom.diff_at(0, 0, 4, 4), Dtype(0));
  }
  // A window starting exactly at H (4x4, kernel 1, stride 2 -> 3x3): AVE
  // outputs 0 there rather than 0/0.
  Blob<Dtype> bottom(1, 1, 4, 4), top;
  caffe_set(16, Dtype(2), bottom.mutable_cpu_data());
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
  PoolingLayer<Dtype> layer(PoolParam(PoolingParameter::AVE, 1, 2, 0));
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  ASSERT_EQ(top.shape(), (std::vector<int>{1, 1, 3, 3}));
  EXPECT_EQ(top.data_at(0, 0, 1, 1), Dtype(2));
  EXPECT_EQ(top.data_at(0, 0, 2, 1), Dtype(0));
}

TYPED_TEST(PoolingLayerTest, GlobalPooling) {
  typedef TypeParam Dtype;
  caffe::LayerParameter p;
  p.mutable_pooling_param()->set_global_pooling(true);
  p.mutable_pooling_param()->set_pool(PoolingParameter::AVE);
  PoolingLayer<Dtype> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  ASSERT_EQ(this->top_.shape(), (std::vector<int>{2, 3, 1, 1}));
  for (int i = 0; i < 6; ++i) {
    Dtype sum = 0;
    for (int j = 0; j < 25; ++j) sum += this->bottom_.cpu_data()[i * 25 + j];
    EXPECT_NEAR(this->top_.cpu_data()[i], sum / 25, 1e-5);
  }
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(PoolingLayerTest, ParameterErrors) {
  auto expect_error = [&](const caffe::LayerParameter& p) {
    PoolingLayer<TypeParam> layer(p);
    EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
  };
  expect_error(PoolParam(PoolingParameter::MAX, 3, 1, 3));  // pad >= kernel
  caffe::LayerParameter g;
  g.mutable_pooling_param()->set_global_pooling(true);
  g.mutable_pooling_param()->set_stride(2);
  expect_error(g);
  g.mutable_pooling_param()->clear_stride();
  g.mutable_pooling_param()->set_pad(1);
  expect_error(g);
  g.mutable_pooling_param()->clear_pad();
  g.mutable_pooling_param()->set_kernel_size(2);
  expect_error(g);
  caffe::LayerParameter none;
  none.mutable_pooling_param();
  expect_error(none);  // no kernel size
  auto both = PoolParam(PoolingParameter::MAX, 2, 1, 0);
  both.mutable_pooling_param()->set_kernel_h(2);
  both.mutable_pooling_param()->set_kernel_w(2);
  expect_error(both);
  expect_error(PoolParam(PoolingParameter::MAX, 2, 0, 0));         // zero stride
  expect_error(PoolParam(PoolingParameter::STOCHASTIC, 3, 1, 1));  // pad with STOCHASTIC
  expect_error(PoolParam(PoolingParameter::MAX, 7, 1, 0));         // kernel > input
}

TYPED_TEST(PoolingLayerTest, GradientMaxAve) {
  typedef TypeParam Dtype;
  // A small bottom keeps the exhaustive checks fast.
  Blob<Dtype> small(1, 2, 4, 5);
  caffe_rng_gaussian<Dtype>(small.count(), Dtype(0), Dtype(1), small.mutable_cpu_data());
  std::vector<Blob<Dtype>*> small_vec{&small};
  for (auto method : {PoolingParameter::MAX, PoolingParameter::AVE}) {
    for (int pad : {0, 1}) {
      for (int stride : {1, 2}) {
        PoolingLayer<Dtype> layer(PoolParam(method, 3, stride, pad));
        GradientChecker<Dtype> checker(1e-4, 1e-2);
        checker.CheckGradientExhaustive(&layer, small_vec, this->top_vec_);
      }
    }
  }
  // MAX with the mask as a second top (only top 0 is differentiated).
  Blob<Dtype> mask;
  std::vector<Blob<Dtype>*> tv{&this->top_, &mask};
  PoolingLayer<Dtype> layer(PoolParam(PoolingParameter::MAX, 2, 2, 1));
  layer.SetUp(this->bottom_vec_, tv);
  layer.Forward(this->bottom_vec_, tv);
  caffe_set(this->top_.count(), Dtype(1), this->top_.mutable_cpu_diff());
  layer.Backward(tv, {true}, this->bottom_vec_);
  for (int i = 0; i < this->top_.count(); ++i) {
    const int plane = i / (this->top_.shape(2) * this->top_.shape(3));
    const int idx = static_cast<int>(mask.cpu_data()[i]);
    EXPECT_EQ(this->top_.cpu_data()[i], this->bottom_.cpu_data()[plane * 25 + idx]);
  }
}

TYPED_TEST(PoolingLayerTest, StochasticTrainSamplesProportionally) {
  typedef TypeParam Dtype;
  Blob<Dtype> bottom(1, 1, 1, 2), top;
  bottom.mutable_cpu_data()[0] = 1;
  bottom.mutable_cpu_data()[1] = 3;
  std::vector<Blob<Dtype>*> bv{&bottom}, tv{&top};
  auto p = PoolParam(PoolingParameter::STOCHASTIC, 2, 1, 0);
  p.mutable_pooling_param()->clear_kernel_size();
  p.mutable_pooling_param()->set_kernel_h(1);
  p.mutable_pooling_param()->set_kernel_w(2);
  p.set_phase(caffe::TRAIN);
  PoolingLayer<Dtype> layer(p);
  layer.SetUp(bv, tv);
  int picked_three = 0;
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    layer.Forward(bv, tv);
    ASSERT_TRUE(top.cpu_data()[0] == 1 || top.cpu_data()[0] == 3);
    picked_three += top.cpu_data()[0] == 3;
  }
  EXPECT_NEAR(static_cast<double>(picked_three) / trials, 0.75, 0.03);
}

TYPED_TEST(PoolingLayerTest, StochasticForwardAndGradient) {
  typedef TypeParam Dtype;
  caffe_rng_uniform<Dtype>(this->bottom_.count(), Dtype(0.1), Dtype(1),
                           this->bottom_.mutable_cpu_data());
  // TEST: sum(x^2)/sum(x) per window.
  auto p = PoolParam(PoolingParameter::STOCHASTIC, 3, 2, 0);
  p.set_phase(caffe::TEST);
  PoolingLayer<Dtype> test_layer(p);
  test_layer.SetUp(this->bottom_vec_, this->top_vec_);
  test_layer.Forward(this->bottom_vec_, this->top_vec_);
  ASSERT_EQ(this->top_.shape(), (std::vector<int>{2, 3, 2, 2}));
  for (int plane = 0; plane < 6; ++plane)
    for (int ph = 0; ph < 2; ++ph)
      for (int pw = 0; pw < 2; ++pw) {
        Dtype s1 = 0, s2 = 0;
        for (int h = ph * 2; h < ph * 2 + 3; ++h)
          for (int w = pw * 2; w < pw * 2 + 3; ++w) {
            const Dtype v = this->bottom_.cpu_data()[plane * 25 + h * 5 + w];
            s1 += v;
            s2 += v * v;
          }
        EXPECT_NEAR(this->top_.cpu_data()[(plane * 2 + ph) * 2 + pw], s2 / s1, 1e-5);
      }
  GradientChecker<Dtype> checker(1e-3, 1e-2);
  checker.CheckGradientExhaustive(&test_layer, this->bottom_vec_, this->top_vec_);
  // TRAIN: each output is a cell of its window; the gradient routes there.
  p.set_phase(caffe::TRAIN);
  PoolingLayer<Dtype> train_layer(p);
  train_layer.SetUp(this->bottom_vec_, this->top_vec_);
  train_layer.Forward(this->bottom_vec_, this->top_vec_);
  for (int i = 0; i < this->top_.count(); ++i) {
    const int plane = i / 4, ph = (i / 2) % 2, pw = i % 2;
    bool found = false;
    for (int h = ph * 2; h < ph * 2 + 3; ++h)
      for (int w = pw * 2; w < pw * 2 + 3; ++w)
        found |= this->bottom_.cpu_data()[plane * 25 + h * 5 + w] == this->top_.cpu_data()[i];
    EXPECT_TRUE(found) << i;
  }
  GradientChecker<Dtype> train_checker(1e-4, 1e-2);
  train_checker.CheckGradient(&train_layer, this->bottom_vec_, this->top_vec_);
}

}  // namespace
}  // namespace deepspark
