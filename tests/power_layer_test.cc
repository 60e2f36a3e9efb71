#include "deepspark/layers/power_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class PowerLayerTest : public NeuronTestBase<Dtype> {
 protected:
  // Forward against the formula, then the gradient; the bottom is made
  // positive enough that shift + scale * x > 0 for fractional powers.
  void Check(float power, float scale, float shift) {
    if (power != 0 && power != 1 && power != 2) {
      this->MakeAtLeast(Dtype(0.1) + std::max(Dtype(0), -Dtype(shift) / Dtype(scale)));
    }
    caffe::LayerParameter p = LayerParam("Power");
    p.mutable_power_param()->set_power(power);
    p.mutable_power_param()->set_scale(scale);
    p.mutable_power_param()->set_shift(shift);
    PowerLayer<Dtype> layer(p);
    const double dp = Dtype(power), ds = Dtype(scale), dh = Dtype(shift);
    this->CheckForward(&layer, [=](double x) { return std::pow(dh + ds * x, dp); });
    PowerLayer<Dtype> layer2(p);
    this->CheckGradient(&layer2);
  }
};
TYPED_TEST_SUITE(PowerLayerTest, TestDtypes);

TYPED_TEST(PowerLayerTest, Fractional) { this->Check(0.37f, 0.83f, 2.4f); }
TYPED_TEST(PowerLayerTest, FractionalNoShift) { this->Check(0.37f, 0.83f, 0.f); }
TYPED_TEST(PowerLayerTest, Square) { this->Check(2.f, 0.34f, -2.4f); }
TYPED_TEST(PowerLayerTest, SquareNoShift) { this->Check(2.f, 0.5f, 0.f); }
TYPED_TEST(PowerLayerTest, One) { this->Check(1.f, 0.83f, -2.4f); }
TYPED_TEST(PowerLayerTest, Zero) { this->Check(0.f, 0.83f, -2.4f); }
TYPED_TEST(PowerLayerTest, ZeroScale) { this->Check(3.f, 0.f, 1.5f); }
TYPED_TEST(PowerLayerTest, Cube) { this->Check(3.f, 1.f, 0.f); }

}  // namespace deepspark
