#include "deepspark/layers/log_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class LogLayerTest : public NeuronTestBase<Dtype> {
 protected:
  void Check(float base, float scale, float shift) {
    this->MakeAtLeast(Dtype(0.5) + std::max(Dtype(0), -Dtype(shift) / Dtype(scale)));
    caffe::LayerParameter p = LayerParam("Log");
    p.mutable_log_param()->set_base(base);
    p.mutable_log_param()->set_scale(scale);
    p.mutable_log_param()->set_shift(shift);
    LogLayer<Dtype> layer(p);
    const double lb = base == -1 ? 1. : std::log(double(Dtype(base)));
    const double s = Dtype(scale), h = Dtype(shift);
    this->CheckForward(&layer, [=](double x) { return std::log(h + s * x) / lb; });
    LogLayer<Dtype> layer2(p);
    this->CheckGradient(&layer2);
  }
};
TYPED_TEST_SUITE(LogLayerTest, TestDtypes);

TYPED_TEST(LogLayerTest, BaseE) { this->Check(-1.f, 1.f, 0.f); }
TYPED_TEST(LogLayerTest, BaseEScaleShift) { this->Check(-1.f, 0.5f, 1.2f); }
TYPED_TEST(LogLayerTest, Base2) { this->Check(2.f, 1.f, 0.f); }
TYPED_TEST(LogLayerTest, Base2ScaleShift) { this->Check(2.f, 1.5f, -0.7f); }

TYPED_TEST(LogLayerTest, BadBaseIsAnError) {
  caffe::LayerParameter p = LayerParam("Log");
  p.mutable_log_param()->set_base(1.f);  // log(1) = 0
  LogLayer<TypeParam> layer(p);
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

}  // namespace deepspark
