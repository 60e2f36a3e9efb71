#include "deepspark/layers/exp_layer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class ExpLayerTest : public NeuronTestBase<Dtype> {
 protected:
  void Check(float base, float scale, float shift) {
    caffe::LayerParameter p = LayerParam("Exp");
    p.mutable_exp_param()->set_base(base);
    p.mutable_exp_param()->set_scale(scale);
    p.mutable_exp_param()->set_shift(shift);
    ExpLayer<Dtype> layer(p);
    const double b = base == -1 ? std::exp(1.) : double(Dtype(base));
    const double s = Dtype(scale), h = Dtype(shift);
    this->CheckForward(&layer, [=](double x) { return std::pow(b, h + s * x); });
    ExpLayer<Dtype> layer2(p);
    this->CheckGradient(&layer2);
  }
};
TYPED_TEST_SUITE(ExpLayerTest, TestDtypes);

TYPED_TEST(ExpLayerTest, BaseE) { this->Check(-1.f, 1.f, 0.f); }
TYPED_TEST(ExpLayerTest, BaseEScaleShift) { this->Check(-1.f, 0.5f, 1.2f); }
TYPED_TEST(ExpLayerTest, Base2) { this->Check(2.f, 1.f, 0.f); }
TYPED_TEST(ExpLayerTest, Base2ScaleShift) { this->Check(2.f, 1.5f, -0.7f); }

TYPED_TEST(ExpLayerTest, BadBaseIsAnError) {
  caffe::LayerParameter p = LayerParam("Exp");
  p.mutable_exp_param()->set_base(-2.f);
  ExpLayer<TypeParam> layer(p);
  EXPECT_THROW(layer.SetUp(this->bottom_vec_, this->top_vec_), Error);
}

TYPED_TEST(ExpLayerTest, InPlace) {
  caffe::LayerParameter p = LayerParam("Exp");
  p.mutable_exp_param()->set_base(2.f);
  p.mutable_exp_param()->set_scale(0.5f);
  this->CheckInPlaceMatches(p);
}

}  // namespace deepspark
