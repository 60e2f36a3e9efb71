// InnerProduct: forward against a naive product (axis, transpose, no bias),
// shapes, errors, and gradient checks.
#include "deepspark/layers/inner_product_layer.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

caffe::LayerParameter IPParam(int num_output, int axis = 1, bool transpose = false,
                              bool bias = true) {
  caffe::LayerParameter p;
  p.set_type("InnerProduct");
  auto* ip = p.mutable_inner_product_param();
  ip->set_num_output(num_output);
  ip->set_axis(axis);
  ip->set_transpose(transpose);
  ip->set_bias_term(bias);
  ip->mutable_weight_filler()->set_type("gaussian");
  ip->mutable_bias_filler()->set_type("gaussian");
  return p;
}

template <typename Dtype>
class InnerProductLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeedThreadRng(1701, 0);
    bottom_.Reshape(2, 3, 2, 2);
    caffe_rng_gaussian<Dtype>(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
    bottom_vec_ = {&bottom_};
    top_vec_ = {&top_};
  }
  // top[m][n] = sum_k x[m][k] W(n, k) + b[n].
  void CheckForward(const caffe::LayerParameter& p, int M, int K, int N) {
    InnerProductLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec_, top_vec_);
    layer.Forward(bottom_vec_, top_vec_);
    ASSERT_EQ(top_.count(), M * N);
    const bool transpose = p.inner_product_param().transpose();
    const bool bias = p.inner_product_param().bias_term();
    EXPECT_EQ(layer.blobs()[0]->shape(),
              (transpose ? std::vector<int>{K, N} : std::vector<int>{N, K}));
    EXPECT_EQ(layer.blobs().size(), bias ? 2u : 1u);
    const Dtype* w = layer.blobs()[0]->cpu_data();
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double sum = bias ? layer.blobs()[1]->cpu_data()[n] : 0;
        for (int k = 0; k < K; ++k) {
          sum += bottom_.cpu_data()[m * K + k] * (transpose ? w[k * N + n] : w[n * K + k]);
        }
        EXPECT_NEAR(top_.cpu_data()[m * N + n], sum, 1e-4);
      }
  }
  Blob<Dtype> bottom_, top_;
  std::vector<Blob<Dtype>*> bottom_vec_, top_vec_;
};
TYPED_TEST_SUITE(InnerProductLayerTest, TestDtypes);

TYPED_TEST(InnerProductLayerTest, ShapeAndForward) {
  this->CheckForward(IPParam(4), 2, 12, 4);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 4}));
  this->CheckForward(IPParam(4, 1, true), 2, 12, 4);
  this->CheckForward(IPParam(3, 1, false, false), 2, 12, 3);
  // axis 2: M = 2*3, K = 4; top (2, 3, 5).
  this->CheckForward(IPParam(5, 2), 6, 4, 5);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 3, 5}));
  this->CheckForward(IPParam(5, -1, true), 12, 2, 5);
  // M = 1 takes the matrix-vector path.
  this->CheckForward(IPParam(3, 0), 1, 24, 3);
  this->CheckForward(IPParam(3, 0, true), 1, 24, 3);
}

// A batch of 0 (an empty last batch, a filtered-out batch) gives an empty
// top and no gradient; it once aborted on a CHECK in Blob.
TYPED_TEST(InnerProductLayerTest, EmptyBatch) {
  for (bool bias : {true, false}) {
    this->bottom_.Reshape(std::vector<int>{0, 3});
    InnerProductLayer<TypeParam> layer(IPParam(2, 1, false, bias));
    layer.SetUp(this->bottom_vec_, this->top_vec_);
    layer.Forward(this->bottom_vec_, this->top_vec_);
    EXPECT_EQ(this->top_.shape(), (std::vector<int>{0, 2}));
    layer.Backward(this->top_vec_, {true}, this->bottom_vec_);
    for (int i = 0; i < layer.blobs()[0]->count(); ++i) {
      EXPECT_EQ(layer.blobs()[0]->cpu_diff()[i], 0);
    }
  }
}

TYPED_TEST(InnerProductLayerTest, Errors) {
  caffe::LayerParameter p = IPParam(4);
  p.mutable_inner_product_param()->clear_num_output();
  InnerProductLayer<TypeParam> no_output(p);
  EXPECT_THROW(no_output.SetUp(this->bottom_vec_, this->top_vec_), Error);
  InnerProductLayer<TypeParam> bad_axis(IPParam(4, 5));
  EXPECT_THROW(bad_axis.SetUp(this->bottom_vec_, this->top_vec_), Error);
  InnerProductLayer<TypeParam> layer(IPParam(4));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  Blob<TypeParam> other(2, 5, 2, 2);
  std::vector<Blob<TypeParam>*> bv{&other};
  EXPECT_THROW(layer.Forward(bv, this->top_vec_), Error);  // K changed
}

TYPED_TEST(InnerProductLayerTest, StoredLegacyBlobs) {
  // Blobs in the layer parameter with legacy 4-D shapes (1,1,N,K), (1,1,1,N).
  caffe::LayerParameter p = IPParam(2);
  auto* w = p.add_blobs();
  w->set_num(1);
  w->set_channels(1);
  w->set_height(2);
  w->set_width(12);
  for (int i = 0; i < 24; ++i) w->add_data(i % 5 - 2);
  auto* b = p.add_blobs();
  b->set_num(1);
  b->set_channels(1);
  b->set_height(1);
  b->set_width(2);
  b->add_data(0.5);
  b->add_data(-1);
  this->CheckForward(p, 2, 12, 2);
  InnerProductLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{2, 12}));
  EXPECT_EQ(layer.blobs()[1]->cpu_data()[1], TypeParam(-1));
  caffe::LayerParameter wrong = IPParam(3);
  *wrong.add_blobs() = *w;
  *wrong.add_blobs() = *b;
  InnerProductLayer<TypeParam> bad(wrong);
  EXPECT_THROW(bad.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

TYPED_TEST(InnerProductLayerTest, Gradient) {
  typedef TypeParam Dtype;
  for (bool transpose : {false, true}) {
    for (bool bias : {true, false}) {
      InnerProductLayer<Dtype> layer(IPParam(3, 1, transpose, bias));
      GradientChecker<Dtype> checker(1e-2, 1e-3);
      checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
    }
  }
  InnerProductLayer<Dtype> axis2(IPParam(3, 2));
  GradientChecker<Dtype> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&axis2, this->bottom_vec_, this->top_vec_);
}

}  // namespace
}  // namespace deepspark
