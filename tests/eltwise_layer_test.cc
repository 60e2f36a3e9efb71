#include "deepspark/layers/eltwise_layer.hpp"

#include <gtest/gtest.h>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class EltwiseLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = ValueBlob<Dtype>({2, 2}, {1, -2, 3, 0.5});
    b_ = ValueBlob<Dtype>({2, 2}, {2, -1, 3, -4});
    c_ = ValueBlob<Dtype>({2, 2}, {-1, 5, 3, 0.25});
    bottom_ = {a_.get(), b_.get(), c_.get()};
    tops_ = {&top_};
  }
  std::unique_ptr<Blob<Dtype>> a_, b_, c_;
  Blob<Dtype> top_;
  std::vector<Blob<Dtype>*> bottom_, tops_;
};
TYPED_TEST_SUITE(EltwiseLayerTest, TestDtypes);

TYPED_TEST(EltwiseLayerTest, SumWithCoeff) {
  using Dtype = TypeParam;
  EltwiseLayer<Dtype> layer(
      ParseLayer("eltwise_param { operation: SUM coeff: 1 coeff: -0.5 coeff: 2 }"));
  layer.SetUp(this->bottom_, this->tops_);
  layer.Forward(this->bottom_, this->tops_);
  const std::vector<double> expected{1 - 1 - 2, -2 + 0.5 + 10, 3 - 1.5 + 6, 0.5 + 2 + 0.5};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(this->top_.cpu_data()[i], expected[i], 1e-6);
}

TYPED_TEST(EltwiseLayerTest, Prod) {
  using Dtype = TypeParam;
  EltwiseLayer<Dtype> layer(ParseLayer("eltwise_param { operation: PROD }"));
  layer.SetUp(this->bottom_, this->tops_);
  layer.Forward(this->bottom_, this->tops_);
  const std::vector<double> expected{-2, 10, 27, -0.5};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(this->top_.cpu_data()[i], expected[i], 1e-6);
}

TYPED_TEST(EltwiseLayerTest, MaxFirstMaxWins) {
  using Dtype = TypeParam;
  EltwiseLayer<Dtype> layer(ParseLayer("eltwise_param { operation: MAX }"));
  layer.SetUp(this->bottom_, this->tops_);
  layer.Forward(this->bottom_, this->tops_);
  const std::vector<double> expected{2, 5, 3, 0.5};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(this->top_.cpu_data()[i], Dtype(expected[i]));
  for (int i = 0; i < 4; ++i) this->top_.mutable_cpu_diff()[i] = i + 1;
  layer.Backward(this->tops_, {true, true, true}, this->bottom_);
  // Winners: element 0 -> b, 1 -> c, 2 -> a (all tie at 3; the first wins), 3 -> a.
  const std::vector<double> da{0, 0, 3, 4}, db{1, 0, 0, 0}, dc{0, 2, 0, 0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(this->a_->cpu_diff()[i], Dtype(da[i])) << i;
    EXPECT_EQ(this->b_->cpu_diff()[i], Dtype(db[i])) << i;
    EXPECT_EQ(this->c_->cpu_diff()[i], Dtype(dc[i])) << i;
  }
}

TYPED_TEST(EltwiseLayerTest, Errors) {
  using Dtype = TypeParam;
  EltwiseLayer<Dtype> wrong_coeffs(ParseLayer("eltwise_param { coeff: 1 coeff: 2 }"));
  EXPECT_THROW(wrong_coeffs.SetUp(this->bottom_, this->tops_), Error);
  EltwiseLayer<Dtype> prod_coeffs(
      ParseLayer("eltwise_param { operation: PROD coeff: 1 coeff: 2 coeff: 3 }"));
  EXPECT_THROW(prod_coeffs.SetUp(this->bottom_, this->tops_), Error);
  Blob<Dtype> other(std::vector<int>{4});
  std::vector<Blob<Dtype>*> mismatched{this->a_.get(), &other};
  EltwiseLayer<Dtype> layer(ParseLayer(""));
  ExpectErrorWith([&] { layer.SetUp(mismatched, this->tops_); }, {"bottom 1", "4 (4)", "2 2 (4)"});
}

TYPED_TEST(EltwiseLayerTest, Gradients) {
  using Dtype = TypeParam;
  auto a = GaussianBlob<Dtype>({2, 3}, 11);
  auto b = GaussianBlob<Dtype>({2, 3}, 12);
  auto c = GaussianBlob<Dtype>({2, 3}, 13);
  std::vector<Blob<Dtype>*> bottom{a.get(), b.get(), c.get()};
  for (const char* text : {"eltwise_param { operation: SUM }",
                           "eltwise_param { operation: SUM coeff: 1 coeff: -0.5 coeff: 2 }",
                           "eltwise_param { operation: PROD }",
                           "eltwise_param { operation: PROD stable_prod_grad: false }",
                           "eltwise_param { operation: MAX }"}) {
    SCOPED_TRACE(text);
    EltwiseLayer<Dtype> layer(ParseLayer(text));
    GradientChecker<Dtype> checker(1e-4, 1e-2);
    checker.CheckGradientEltwise(&layer, bottom, this->tops_);
  }
}

}  // namespace deepspark
