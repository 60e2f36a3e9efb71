// Helpers for the layer tests: a small random bottom blob, element-wise
// forward checks against a reference function, and parameter building.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/layer.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/rng.hpp"
#include "gradient_checker.hpp"
#include "test_util.hpp"

namespace deepspark {

// Tolerance for comparing against a reference computed in the same type.
template <typename Dtype>
inline Dtype NearTol(Dtype expected) {
  const Dtype rel = sizeof(Dtype) == 4 ? Dtype(2e-6) : Dtype(1e-12);
  return std::max(Dtype(1), std::fabs(expected)) * rel;
}

// A fixture with one Gaussian bottom (2, 3, 2, 2) and one top.
template <typename Dtype>
class NeuronTestBase : public ::testing::Test {
 protected:
  NeuronTestBase() : bottom_(2, 3, 2, 2) {
    SeedThreadRng(1701, 0);
    caffe_rng_gaussian(bottom_.count(), Dtype(0), Dtype(1), bottom_.mutable_cpu_data());
    bottom_vec_.push_back(&bottom_);
    top_vec_.push_back(&top_);
  }

  // Runs SetUp + Forward and checks top[i] == f(bottom[i]).
  void CheckForward(Layer<Dtype>* layer, const std::function<double(double)>& f) {
    layer->SetUp(bottom_vec_, top_vec_);
    layer->Forward(bottom_vec_, top_vec_);
    ASSERT_EQ(top_.shape(), bottom_.shape());
    for (int i = 0; i < bottom_.count(); ++i) {
      const Dtype expected = static_cast<Dtype>(f(bottom_.cpu_data()[i]));
      EXPECT_NEAR(top_.cpu_data()[i], expected, NearTol(expected))
          << "at " << i << ", x = " << bottom_.cpu_data()[i];
    }
  }

  void CheckGradient(Layer<Dtype>* layer, Dtype kink = 0, Dtype kink_range = -1) {
    GradientChecker<Dtype> checker(Dtype(1e-2), Dtype(1e-3), 1701, kink, kink_range);
    checker.CheckGradientEltwise(layer, bottom_vec_, top_vec_);
  }

  // Runs the layer out of place and a second instance in place (top ==
  // bottom) and expects the same top and bottom diff.
  void CheckInPlaceMatches(const caffe::LayerParameter& param) {
    auto ref = LayerRegistry<Dtype>::CreateLayer(param);
    ref->SetUp(bottom_vec_, top_vec_);
    ref->Forward(bottom_vec_, top_vec_);
    caffe_rng_gaussian(top_.count(), Dtype(0), Dtype(1), top_.mutable_cpu_diff());
    ref->Backward(top_vec_, {true}, bottom_vec_);

    Blob<Dtype> data;
    data.CopyFrom(bottom_, false, true);
    std::vector<Blob<Dtype>*> vec{&data};
    auto inplace = LayerRegistry<Dtype>::CreateLayer(param);
    inplace->SetUp(vec, vec);
    inplace->Forward(vec, vec);
    for (int i = 0; i < top_.count(); ++i) EXPECT_EQ(data.cpu_data()[i], top_.cpu_data()[i]);
    caffe_copy(top_.count(), top_.cpu_diff(), data.mutable_cpu_diff());
    inplace->Backward(vec, {true}, vec);
    for (int i = 0; i < top_.count(); ++i) {
      EXPECT_NEAR(data.cpu_diff()[i], bottom_.cpu_diff()[i], NearTol(bottom_.cpu_diff()[i]))
          << "at " << i;
    }
  }

  // Moves the bottom values away from `point` by at least `gap` (kinks).
  void AvoidPoint(Dtype point, Dtype gap) {
    Dtype* x = bottom_.mutable_cpu_data();
    for (int i = 0; i < bottom_.count(); ++i) {
      if (std::fabs(x[i] - point) < gap) x[i] = point + (x[i] >= point ? gap : -gap);
    }
  }

  // Makes every bottom value >= lo.
  void MakeAtLeast(Dtype lo) {
    Dtype* x = bottom_.mutable_cpu_data();
    for (int i = 0; i < bottom_.count(); ++i) x[i] = std::fabs(x[i]) + lo;
  }

  Blob<Dtype> bottom_;
  Blob<Dtype> top_;
  std::vector<Blob<Dtype>*> bottom_vec_;
  std::vector<Blob<Dtype>*> top_vec_;
};

inline caffe::LayerParameter LayerParam(const char* type, caffe::Phase phase = caffe::TRAIN) {
  caffe::LayerParameter p;
  p.set_type(type);
  p.set_phase(phase);
  return p;
}

}  // namespace deepspark
