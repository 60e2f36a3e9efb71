// Convolution, Deconvolution, Im2col and im2col/col2im: forward values against
// naive loops, output-shape formulas, parameter errors, gradient checks.
#include "deepspark/layers/convolution_layer.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/deconvolution_layer.hpp"
#include "deepspark/layers/im2col.hpp"
#include "deepspark/layers/im2col_layer.hpp"
#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

// Geometry for the naive references: always 3 spatial axes (a 2-D case uses
// depth 1, kernel 1, pad 0, stride 1 on the first).
struct Geo {
  int k[3], s[3], p[3], d[3];
};

Geo Geo2D(int kh, int kw, int sh, int sw, int ph, int pw, int dh = 1, int dw = 1) {
  return Geo{{1, kh, kw}, {1, sh, sw}, {0, ph, pw}, {1, dh, dw}};
}

// Naive convolution: in (N, C, D, H, W) flattened; W (O, C/G, kd, kh, kw).
template <typename Dtype>
std::vector<Dtype> NaiveConv(const Dtype* in, int N, int C, const int* is, const Dtype* w,
                             const Dtype* b, int O, int G, const Geo& g, int* os) {
  for (int a = 0; a < 3; ++a) {
    os[a] = (is[a] + 2 * g.p[a] - (g.d[a] * (g.k[a] - 1) + 1)) / g.s[a] + 1;
  }
  const int cg = C / G, og = O / G;
  std::vector<Dtype> out(static_cast<size_t>(N) * O * os[0] * os[1] * os[2]);
  size_t idx = 0;
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o)
      for (int z = 0; z < os[0]; ++z)
        for (int y = 0; y < os[1]; ++y)
          for (int x = 0; x < os[2]; ++x, ++idx) {
            Dtype sum = b ? b[o] : Dtype(0);
            const int grp = o / og;
            for (int ci = 0; ci < cg; ++ci)
              for (int kz = 0; kz < g.k[0]; ++kz)
                for (int ky = 0; ky < g.k[1]; ++ky)
                  for (int kx = 0; kx < g.k[2]; ++kx) {
                    const int iz = z * g.s[0] - g.p[0] + kz * g.d[0];
                    const int iy = y * g.s[1] - g.p[1] + ky * g.d[1];
                    const int ix = x * g.s[2] - g.p[2] + kx * g.d[2];
                    if (iz < 0 || iy < 0 || ix < 0 || iz >= is[0] || iy >= is[1] || ix >= is[2])
                      continue;
                    const int c = grp * cg + ci;
                    const Dtype v =
                        in[(((size_t)n * C + c) * is[0] + iz) * is[1] * is[2] + iy * is[2] + ix];
                    const Dtype wt = w[(((size_t)o * cg + ci) * g.k[0] + kz) * g.k[1] * g.k[2] +
                                       ky * g.k[2] + kx];
                    sum += v * wt;
                  }
            out[idx] = sum;
          }
  return out;
}

// Naive deconvolution (scatter): in (N, C, ...), W (C, O/G, k...).
template <typename Dtype>
std::vector<Dtype> NaiveDeconv(const Dtype* in, int N, int C, const int* is, const Dtype* w,
                               const Dtype* b, int O, int G, const Geo& g, int* os) {
  for (int a = 0; a < 3; ++a) {
    os[a] = g.s[a] * (is[a] - 1) + (g.d[a] * (g.k[a] - 1) + 1) - 2 * g.p[a];
  }
  const int cg = C / G, og = O / G;
  const size_t osz = (size_t)os[0] * os[1] * os[2];
  std::vector<Dtype> out(N * O * osz, Dtype(0));
  for (int n = 0; n < N; ++n) {
    for (int o = 0; o < O; ++o)
      for (size_t i = 0; i < osz; ++i) out[(n * O + o) * osz + i] = b ? b[o] : Dtype(0);
    for (int c = 0; c < C; ++c)
      for (int z = 0; z < is[0]; ++z)
        for (int y = 0; y < is[1]; ++y)
          for (int x = 0; x < is[2]; ++x) {
            const Dtype v = in[(((size_t)n * C + c) * is[0] + z) * is[1] * is[2] + y * is[2] + x];
            const int grp = c / cg;
            for (int ol = 0; ol < og; ++ol)
              for (int kz = 0; kz < g.k[0]; ++kz)
                for (int ky = 0; ky < g.k[1]; ++ky)
                  for (int kx = 0; kx < g.k[2]; ++kx) {
                    const int oz = z * g.s[0] - g.p[0] + kz * g.d[0];
                    const int oy = y * g.s[1] - g.p[1] + ky * g.d[1];
                    const int ox = x * g.s[2] - g.p[2] + kx * g.d[2];
                    if (oz < 0 || oy < 0 || ox < 0 || oz >= os[0] || oy >= os[1] || ox >= os[2])
                      continue;
                    const Dtype wt = w[(((size_t)c * og + ol) * g.k[0] + kz) * g.k[1] * g.k[2] +
                                       ky * g.k[2] + kx];
                    const int o = grp * og + ol;
                    out[(n * O + o) * osz + ((size_t)oz * os[1] + oy) * os[2] + ox] += v * wt;
                  }
          }
  }
  return out;
}

caffe::LayerParameter ConvParam(const char* type, int num_output, int kernel, int stride, int pad) {
  caffe::LayerParameter p;
  p.set_type(type);
  auto* c = p.mutable_convolution_param();
  c->set_num_output(num_output);
  c->add_kernel_size(kernel);
  if (stride != 1) c->add_stride(stride);
  if (pad != 0) c->add_pad(pad);
  c->mutable_weight_filler()->set_type("gaussian");
  c->mutable_weight_filler()->set_std(0.5);
  c->mutable_bias_filler()->set_type("gaussian");
  c->mutable_bias_filler()->set_std(0.5);
  return p;
}

// Tolerance for CheckGradient (loss = 1/2 sum of squares of the top, large
// enough that float round-off in the objective reaches ~1e-3).
template <typename Dtype>
Dtype SumTol() {
  return sizeof(Dtype) == 4 ? Dtype(1e-2) : Dtype(1e-3);
}

template <typename Dtype>
void FillGaussian(Blob<Dtype>* blob) {
  caffe_rng_gaussian<Dtype>(blob->count(), Dtype(0), Dtype(1), blob->mutable_cpu_data());
}

template <typename Dtype>
class ConvolutionLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeedThreadRng(1701, 0);
    bottom_.Reshape(2, 3, 5, 5);
    FillGaussian(&bottom_);
    bottom_vec_ = {&bottom_};
    top_vec_ = {&top_};
  }
  // Runs the layer and compares with the naive reference (2-D or 3-D bottom).
  template <typename L>
  void CheckForward(const caffe::LayerParameter& param, Blob<Dtype>* bottom, const Geo& g,
                    bool deconv) {
    L layer(param);
    std::vector<Blob<Dtype>*> bv{bottom}, tv{&top_};
    layer.SetUp(bv, tv);
    layer.Forward(bv, tv);
    const int N = bottom->shape(0), C = bottom->shape(1);
    int is[3] = {1, 1, 1};
    for (int a = 2; a < bottom->num_axes(); ++a)
      is[3 - (bottom->num_axes() - a)] = bottom->shape(a);
    const auto& cp = param.convolution_param();
    const Dtype* b = cp.bias_term() ? layer.blobs()[1]->cpu_data() : nullptr;
    int os[3];
    const std::vector<Dtype> ref =
        deconv ? NaiveDeconv(bottom->cpu_data(), N, C, is, layer.blobs()[0]->cpu_data(), b,
                             (int)cp.num_output(), (int)cp.group(), g, os)
               : NaiveConv(bottom->cpu_data(), N, C, is, layer.blobs()[0]->cpu_data(), b,
                           (int)cp.num_output(), (int)cp.group(), g, os);
    ASSERT_EQ(static_cast<int>(ref.size()), top_.count());
    EXPECT_EQ(top_.shape(-1), os[2]);
    if (top_.num_axes() >= 4) {
      EXPECT_EQ(top_.shape(-2), os[1]);
    }
    const Dtype tol = sizeof(Dtype) == 4 ? Dtype(1e-4) : Dtype(1e-10);
    for (int i = 0; i < top_.count(); ++i) EXPECT_NEAR(top_.cpu_data()[i], ref[i], tol) << i;
  }
  Blob<Dtype> bottom_, top_;
  std::vector<Blob<Dtype>*> bottom_vec_, top_vec_;
};
TYPED_TEST_SUITE(ConvolutionLayerTest, TestDtypes);

TYPED_TEST(ConvolutionLayerTest, OutputShapeFloor) {
  // (5 + 2*1 - 3) / 2 + 1 = 3; (5 + 0 - 2) / 2 + 1 = 2 (floor).
  auto p = ConvParam("Convolution", 4, 3, 2, 1);
  ConvolutionLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 4, 3, 3}));
  EXPECT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{4, 3, 3, 3}));
  EXPECT_EQ(layer.blobs()[1]->shape(), (std::vector<int>{4}));
  auto p2 = ConvParam("Convolution", 2, 2, 2, 0);
  ConvolutionLayer<TypeParam> layer2(p2);
  layer2.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 2, 2, 2}));
  // Dilation 2 with kernel 3: extent 5 -> (5 - 5) / 1 + 1 = 1.
  auto p3 = ConvParam("Convolution", 2, 3, 1, 0);
  p3.mutable_convolution_param()->add_dilation(2);
  ConvolutionLayer<TypeParam> layer3(p3);
  layer3.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 2, 1, 1}));
}

TYPED_TEST(ConvolutionLayerTest, ForwardMatchesNaive) {
  this->template CheckForward<ConvolutionLayer<TypeParam>>(
      ConvParam("Convolution", 4, 3, 2, 1), &this->bottom_, Geo2D(3, 3, 2, 2, 1, 1), false);
}

TYPED_TEST(ConvolutionLayerTest, ForwardRectangularDilatedGroup) {
  Blob<TypeParam> bottom(2, 4, 6, 5);
  FillGaussian(&bottom);
  caffe::LayerParameter p = ConvParam("Convolution", 6, 1, 1, 0);
  auto* c = p.mutable_convolution_param();
  c->clear_kernel_size();
  c->set_kernel_h(3);
  c->set_kernel_w(2);
  c->set_stride_h(2);
  c->set_stride_w(1);
  c->set_pad_h(1);
  c->set_pad_w(2);
  c->set_group(2);
  c->add_dilation(2);
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &bottom,
                                                           Geo2D(3, 2, 2, 1, 1, 2, 2, 2), false);
  // The N-d im2col path gives the same result.
  c->set_force_nd_im2col(true);
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &bottom,
                                                           Geo2D(3, 2, 2, 1, 1, 2, 2, 2), false);
}

TYPED_TEST(ConvolutionLayerTest, Forward1x1NoBias) {
  caffe::LayerParameter p = ConvParam("Convolution", 2, 1, 1, 0);
  p.mutable_convolution_param()->set_bias_term(false);
  ConvolutionLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(layer.blobs().size(), 1u);
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &this->bottom_,
                                                           Geo2D(1, 1, 1, 1, 0, 0), false);
}

TYPED_TEST(ConvolutionLayerTest, Forward3D) {
  Blob<TypeParam> bottom(std::vector<int>{2, 2, 3, 4, 4});
  FillGaussian(&bottom);
  caffe::LayerParameter p = ConvParam("Convolution", 3, 2, 1, 0);
  auto* c = p.mutable_convolution_param();
  c->clear_kernel_size();
  c->add_kernel_size(2);
  c->add_kernel_size(3);
  c->add_kernel_size(2);
  c->add_pad(1);
  c->add_stride(1);
  c->add_stride(2);
  c->add_stride(1);
  Geo g{{2, 3, 2}, {1, 2, 1}, {1, 1, 1}, {1, 1, 1}};
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &bottom, g, false);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 3, 4, 2, 5}));
}

TYPED_TEST(ConvolutionLayerTest, Forward1D) {
  Blob<TypeParam> bottom(std::vector<int>{2, 3, 9});
  FillGaussian(&bottom);
  caffe::LayerParameter p = ConvParam("Convolution", 2, 3, 2, 1);
  p.mutable_convolution_param()->add_dilation(2);
  Geo g{{1, 1, 3}, {1, 1, 2}, {0, 0, 1}, {1, 1, 2}};
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &bottom, g, false);
  // (9 + 2 - 5) / 2 + 1 = 4
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 2, 4}));
}

TYPED_TEST(ConvolutionLayerTest, ChannelAxisTwo) {
  // (2, 3, C=4, 5, 5) with axis 2 is the same as (6, 4, 5, 5) with axis 1.
  Blob<TypeParam> bottom5(std::vector<int>{2, 3, 4, 5, 5}), top5;
  FillGaussian(&bottom5);
  caffe::LayerParameter p = ConvParam("Convolution", 2, 3, 1, 1);
  p.mutable_convolution_param()->set_axis(2);
  ConvolutionLayer<TypeParam> layer5(p);
  std::vector<Blob<TypeParam>*> bv5{&bottom5}, tv5{&top5};
  layer5.SetUp(bv5, tv5);
  layer5.Forward(bv5, tv5);
  EXPECT_EQ(top5.shape(), (std::vector<int>{2, 3, 2, 5, 5}));
  Blob<TypeParam> bottom4(6, 4, 5, 5);
  bottom4.ShareData(bottom5);
  p.mutable_convolution_param()->set_axis(1);
  ConvolutionLayer<TypeParam> layer4(p);
  std::vector<Blob<TypeParam>*> bv4{&bottom4};
  layer4.SetUp(bv4, this->top_vec_);
  layer4.blobs()[0]->CopyFrom(*layer5.blobs()[0]);
  layer4.blobs()[1]->CopyFrom(*layer5.blobs()[1]);
  layer4.Forward(bv4, this->top_vec_);
  ASSERT_EQ(this->top_.count(), top5.count());
  for (int i = 0; i < top5.count(); ++i) EXPECT_EQ(top5.cpu_data()[i], this->top_.cpu_data()[i]);
}

TYPED_TEST(ConvolutionLayerTest, TwoBottomsShareWeights) {
  Blob<TypeParam> bottom2(2, 3, 5, 5), top2;
  FillGaussian(&bottom2);
  ConvolutionLayer<TypeParam> layer(ConvParam("Convolution", 2, 3, 1, 0));
  std::vector<Blob<TypeParam>*> bv{&this->bottom_, &bottom2}, tv{&this->top_, &top2};
  layer.SetUp(bv, tv);
  layer.Forward(bv, tv);
  Blob<TypeParam> top_single;
  std::vector<Blob<TypeParam>*> b1{&bottom2}, t1{&top_single};
  layer.Forward(b1, t1);
  for (int i = 0; i < top2.count(); ++i) EXPECT_EQ(top2.cpu_data()[i], top_single.cpu_data()[i]);
}

TYPED_TEST(ConvolutionLayerTest, ReshapeFollowsBottom) {
  // A second forward with a larger bottom recomputes the output size.
  auto p = ConvParam("Convolution", 2, 3, 2, 1);
  this->template CheckForward<ConvolutionLayer<TypeParam>>(p, &this->bottom_,
                                                           Geo2D(3, 3, 2, 2, 1, 1), false);
  ConvolutionLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  Blob<TypeParam> big(2, 3, 8, 7);
  FillGaussian(&big);
  std::vector<Blob<TypeParam>*> bv{&big};
  layer.Forward(bv, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 2, 4, 4}));
  Blob<TypeParam> other_channels(2, 4, 5, 5);
  std::vector<Blob<TypeParam>*> bad{&other_channels};
  EXPECT_THROW(layer.Forward(bad, this->top_vec_), Error);
}

TYPED_TEST(ConvolutionLayerTest, LayersAreRegistered) {
  for (const char* type :
       {"Convolution", "Deconvolution", "Im2col", "Pooling", "LRN", "InnerProduct"}) {
    EXPECT_TRUE(LayerRegistry<TypeParam>::Has(type)) << type;
  }
  auto layer = LayerRegistry<TypeParam>::CreateLayer(ConvParam("Deconvolution", 2, 3, 1, 0));
  EXPECT_STREQ(layer->type(), "Deconvolution");
}

TYPED_TEST(ConvolutionLayerTest, ParameterErrors) {
  auto expect_error = [&](caffe::LayerParameter p) {
    ConvolutionLayer<TypeParam> layer(p);
    EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
  };
  auto base = ConvParam("Convolution", 2, 3, 1, 0);
  auto p = base;
  p.mutable_convolution_param()->clear_kernel_size();
  expect_error(p);  // no kernel size
  p = base;
  p.mutable_convolution_param()->add_stride(0);
  expect_error(p);  // zero stride
  p = base;
  p.mutable_convolution_param()->set_group(2);
  expect_error(p);  // 3 channels not divisible by 2
  p = base;
  p.mutable_convolution_param()->set_kernel_h(3);
  p.mutable_convolution_param()->set_kernel_w(3);
  expect_error(p);  // kernel_size mixed with kernel_h/w
  p = base;
  p.mutable_convolution_param()->add_kernel_size(3);
  p.mutable_convolution_param()->add_kernel_size(3);
  expect_error(p);  // 3 kernel sizes for 2 spatial axes
  p = base;
  p.mutable_convolution_param()->clear_num_output();
  expect_error(p);
  p = base;
  p.mutable_convolution_param()->set_axis(4);
  expect_error(p);
  p = ConvParam("Convolution", 2, 7, 1, 0);
  expect_error(p);  // kernel larger than the input
}

TYPED_TEST(ConvolutionLayerTest, Gradient) {
  typedef TypeParam Dtype;
  auto p = ConvParam("Convolution", 2, 3, 2, 1);
  ConvolutionLayer<Dtype> layer(p);
  GradientChecker<Dtype> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&layer, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(ConvolutionLayerTest, GradientGroupDilationND) {
  typedef TypeParam Dtype;
  Blob<Dtype> bottom(2, 4, 5, 4);
  FillGaussian(&bottom);
  std::vector<Blob<Dtype>*> bv{&bottom};
  for (bool nd : {false, true}) {
    auto p = ConvParam("Convolution", 4, 2, 1, 1);
    p.mutable_convolution_param()->set_group(2);
    p.mutable_convolution_param()->add_dilation(2);
    p.mutable_convolution_param()->set_force_nd_im2col(nd);
    ConvolutionLayer<Dtype> layer(p);
    GradientChecker<Dtype> checker(1e-2, SumTol<Dtype>());
    checker.CheckGradient(&layer, bv, this->top_vec_);
  }
}

TYPED_TEST(ConvolutionLayerTest, Gradient3DAnd1x1) {
  typedef TypeParam Dtype;
  Blob<Dtype> bottom(std::vector<int>{1, 2, 3, 3, 4});
  FillGaussian(&bottom);
  std::vector<Blob<Dtype>*> bv{&bottom};
  ConvolutionLayer<Dtype> layer(ConvParam("Convolution", 2, 2, 1, 1));
  GradientChecker<Dtype> checker(1e-2, SumTol<Dtype>());
  checker.CheckGradient(&layer, bv, this->top_vec_);
  ConvolutionLayer<Dtype> layer1x1(ConvParam("Convolution", 3, 1, 1, 0));
  checker.CheckGradient(&layer1x1, this->bottom_vec_, this->top_vec_);
}

TYPED_TEST(ConvolutionLayerTest, DeconvolutionShapeAndForward) {
  auto p = ConvParam("Deconvolution", 4, 3, 2, 1);
  DeconvolutionLayer<TypeParam> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  // 2 * (5 - 1) + 3 - 2 = 9
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 4, 9, 9}));
  EXPECT_EQ(layer.blobs()[0]->shape(), (std::vector<int>{3, 4, 3, 3}));
  this->template CheckForward<DeconvolutionLayer<TypeParam>>(p, &this->bottom_,
                                                             Geo2D(3, 3, 2, 2, 1, 1), true);
  Blob<TypeParam> bottom(2, 4, 3, 4);
  FillGaussian(&bottom);
  auto pg = ConvParam("Deconvolution", 6, 2, 1, 0);
  pg.mutable_convolution_param()->set_group(2);
  pg.mutable_convolution_param()->add_dilation(2);
  this->template CheckForward<DeconvolutionLayer<TypeParam>>(pg, &bottom,
                                                             Geo2D(2, 2, 1, 1, 0, 0, 2, 2), true);
}

TYPED_TEST(ConvolutionLayerTest, DeconvolutionGradient) {
  typedef TypeParam Dtype;
  Blob<Dtype> bottom(2, 2, 3, 3);
  FillGaussian(&bottom);
  std::vector<Blob<Dtype>*> bv{&bottom};
  for (bool nd : {false, true}) {
    auto p = ConvParam("Deconvolution", 2, 3, 2, 1);
    p.mutable_convolution_param()->set_force_nd_im2col(nd);
    DeconvolutionLayer<Dtype> layer(p);
    GradientChecker<Dtype> checker(1e-2, SumTol<Dtype>());
    checker.CheckGradient(&layer, bv, this->top_vec_);
  }
}

TYPED_TEST(ConvolutionLayerTest, Im2colLayerAndAdjoint) {
  typedef TypeParam Dtype;
  caffe::LayerParameter p;
  p.set_type("Im2col");
  auto* c = p.mutable_convolution_param();
  c->add_kernel_size(3);
  c->add_stride(2);
  c->add_pad(1);
  Im2colLayer<Dtype> layer(p);
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  EXPECT_EQ(this->top_.shape(), (std::vector<int>{2, 27, 3, 3}));
  layer.Forward(this->bottom_vec_, this->top_vec_);
  // Row (c, kh, kw), column (oh, ow) reads bottom(c, oh*2-1+kh, ow*2-1+kw).
  for (int n = 0; n < 2; ++n)
    for (int c2 = 0; c2 < 3; ++c2)
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw)
          for (int oh = 0; oh < 3; ++oh)
            for (int ow = 0; ow < 3; ++ow) {
              const int h = oh * 2 - 1 + kh, w = ow * 2 - 1 + kw;
              const Dtype want =
                  (h < 0 || w < 0 || h >= 5 || w >= 5) ? 0 : this->bottom_.data_at(n, c2, h, w);
              EXPECT_EQ(this->top_.data_at(n, (c2 * 3 + kh) * 3 + kw, oh, ow), want);
            }
  GradientChecker<Dtype> checker(1e-2, 1e-2);
  checker.CheckGradient(&layer, this->bottom_vec_, this->top_vec_);
  // <im2col(x), y> == <x, col2im(y)> for 2-D and N-d versions.
  const int im_shape[3] = {2, 5, 4}, kernel[2] = {3, 2}, pad[2] = {1, 1}, stride[2] = {2, 1},
            dil[2] = {1, 2};
  const int col_shape[3] = {2 * 6, (5 + 2 - 3) / 2 + 1, (4 + 2 - 3) / 1 + 1};
  Blob<Dtype> x(std::vector<int>{2, 5, 4}), y(std::vector<int>{12, col_shape[1], col_shape[2]});
  FillGaussian(&x);
  FillGaussian(&y);
  std::vector<Dtype> col(y.count()), col_nd(y.count()), im(x.count()), im_nd(x.count());
  im2col_cpu(x.cpu_data(), 2, 5, 4, 3, 2, 1, 1, 2, 1, 1, 2, col.data());
  im2col_nd_cpu(x.cpu_data(), 2, im_shape, col_shape, kernel, pad, stride, dil, col_nd.data());
  col2im_cpu(y.cpu_data(), 2, 5, 4, 3, 2, 1, 1, 2, 1, 1, 2, im.data());
  col2im_nd_cpu(y.cpu_data(), 2, im_shape, col_shape, kernel, pad, stride, dil, im_nd.data());
  double lhs = 0, rhs = 0;
  for (int i = 0; i < y.count(); ++i) {
    EXPECT_EQ(col[i], col_nd[i]);
    lhs += col[i] * y.cpu_data()[i];
  }
  for (int i = 0; i < x.count(); ++i) {
    EXPECT_NEAR(im[i], im_nd[i], 1e-5);
    rhs += im[i] * x.cpu_data()[i];
  }
  EXPECT_NEAR(lhs, rhs, 1e-4);
}

}  // namespace
}  // namespace deepspark
