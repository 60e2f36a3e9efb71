#include "deepspark/layers/lstm_unit_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

template <typename Dtype>
class LSTMUnitLayerTest : public ::testing::Test {
 protected:
  static constexpr int kNum = 3, kDim = 2;
  LSTMUnitLayerTest()
      : c_prev_(GaussianBlob<Dtype>({1, kNum, kDim}, 1)),
        gates_(GaussianBlob<Dtype>({1, kNum, 4 * kDim}, 2)),
        // The first instance starts a sequence: its forget gate is 0.
        cont_(ValueBlob<Dtype>({1, kNum}, {0, 1, 1})),
        bottom_{c_prev_.get(), gates_.get(), cont_.get()},
        top_{&c_, &h_} {}

  std::unique_ptr<Blob<Dtype>> c_prev_, gates_, cont_;
  Blob<Dtype> c_, h_;
  std::vector<Blob<Dtype>*> bottom_, top_;
};
TYPED_TEST_SUITE(LSTMUnitLayerTest, TestDtypes);

TYPED_TEST(LSTMUnitLayerTest, ForwardIsTheLstmCellEquations) {
  LSTMUnitLayer<TypeParam> layer(ParseLayer("name: 'unit' type: 'LSTMUnit'"));
  layer.SetUp(this->bottom_, this->top_);
  ASSERT_EQ(this->c_.shape(), (std::vector<int>{1, 3, 2}));
  ASSERT_EQ(this->h_.shape(), (std::vector<int>{1, 3, 2}));
  layer.Forward(this->bottom_, this->top_);
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  const TypeParam* x = this->gates_->cpu_data();
  for (int n = 0; n < 3; ++n) {
    for (int d = 0; d < 2; ++d) {
      const TypeParam* xn = x + n * 8;
      const double i = sigmoid(xn[d]), f = n == 0 ? 0 : sigmoid(xn[2 + d]);
      const double o = sigmoid(xn[4 + d]), g = std::tanh(double(xn[6 + d]));
      const double c = f * this->c_prev_->cpu_data()[n * 2 + d] + i * g;
      EXPECT_NEAR(this->c_.cpu_data()[n * 2 + d], c, 1e-6) << n << "," << d;
      EXPECT_NEAR(this->h_.cpu_data()[n * 2 + d], o * std::tanh(c), 1e-6) << n << "," << d;
    }
  }
}

TYPED_TEST(LSTMUnitLayerTest, GradientToCellAndGates) {
  LSTMUnitLayer<TypeParam> layer(ParseLayer("name: 'unit' type: 'LSTMUnit'"));
  GradientChecker<TypeParam> checker(1e-2, 1e-3);
  checker.CheckGradientExhaustive(&layer, this->bottom_, this->top_, 0);
  checker.CheckGradientExhaustive(&layer, this->bottom_, this->top_, 1);
}

TYPED_TEST(LSTMUnitLayerTest, ShapesAndSequenceIndicatorsAreChecked) {
  LSTMUnitLayer<TypeParam> layer(ParseLayer("name: 'unit' type: 'LSTMUnit'"));
  auto narrow = GaussianBlob<TypeParam>({1, 3, 6}, 3);
  std::vector<Blob<TypeParam>*> bad{this->c_prev_.get(), narrow.get(), this->cont_.get()};
  ExpectErrorWith([&] { layer.SetUp(bad, this->top_); },
                  {"LSTMUnit 'unit'", "6 values per instance, 4 x 2 expected"});
  auto long_cont = ValueBlob<TypeParam>({1, 4}, {1, 1, 1, 1});
  std::vector<Blob<TypeParam>*> bad_cont{this->c_prev_.get(), this->gates_.get(), long_cont.get()};
  ExpectErrorWith([&] { layer.SetUp(bad_cont, this->top_); }, {"bottom 2 (cont)", "N = 3"});
  layer.SetUp(this->bottom_, this->top_);
  layer.Forward(this->bottom_, this->top_);
  ExpectErrorWith(
      [&] {
        layer.Backward(this->top_, {true, true, true}, this->bottom_);
      },
      {"cannot backpropagate to the sequence indicators"});
}

}  // namespace deepspark
