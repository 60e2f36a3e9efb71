// Central-difference gradient checker for layers, as in Caffe's tests:
// the loss is sum(top[i] .* weights) with weights = top data at the start
// ("objective" = 1/2 ||top||^2 per element), and each bottom (and parameter)
// element's analytic gradient is compared against
//   (loss(x + h) - loss(x - h)) / 2h.
// Elements where |x| is within `kink_range` of `kink` (ReLU's 0, say) are
// skipped, since the numeric gradient is undefined there.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "deepspark/layer.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {

template <typename Dtype>
class GradientChecker {
 public:
  GradientChecker(Dtype stepsize, Dtype threshold, unsigned seed = 1701, Dtype kink = 0,
                  Dtype kink_range = -1)
      : stepsize_(stepsize), threshold_(threshold), seed_(seed), kink_(kink),
        kink_range_(kink_range) {}

  // Checks the gradient of every element of every top w.r.t. all bottoms
  // (check_bottom = -1) or one bottom, and the layer's parameters.
  void CheckGradientExhaustive(Layer<Dtype>* layer, const std::vector<Blob<Dtype>*>& bottom,
                               const std::vector<Blob<Dtype>*>& top, int check_bottom = -1) {
    layer->SetUp(bottom, top);
    for (size_t i = 0; i < top.size(); ++i) {
      for (int j = 0; j < top[i]->count(); ++j) {
        CheckGradientSingle(layer, bottom, top, check_bottom, static_cast<int>(i), j);
      }
    }
  }

  // Loss = 1/2 sum of squares of all tops; checks against that.
  void CheckGradient(Layer<Dtype>* layer, const std::vector<Blob<Dtype>*>& bottom,
                     const std::vector<Blob<Dtype>*>& top, int check_bottom = -1) {
    layer->SetUp(bottom, top);
    CheckGradientSingle(layer, bottom, top, check_bottom, -1, -1);
  }

  // For element-wise layers: top[0] element j depends only on bottom element j.
  void CheckGradientEltwise(Layer<Dtype>* layer, const std::vector<Blob<Dtype>*>& bottom,
                            const std::vector<Blob<Dtype>*>& top) {
    layer->SetUp(bottom, top);
    CHECK_GT(top.size(), 0u);
    const int check_bottom = -1;
    const bool element_wise = true;
    for (size_t i = 0; i < top.size(); ++i) {
      for (int j = 0; j < top[i]->count(); ++j) {
        CheckGradientSingle(layer, bottom, top, check_bottom, static_cast<int>(i), j,
                            element_wise);
      }
    }
  }

  // top_id < 0: loss is 1/2 sum of squares over all tops. Otherwise loss is
  // top[top_id][top_data_id].
  void CheckGradientSingle(Layer<Dtype>* layer, const std::vector<Blob<Dtype>*>& bottom,
                           const std::vector<Blob<Dtype>*>& top, int check_bottom, int top_id,
                           int top_data_id, bool element_wise = false) {
    if (element_wise) {
      CHECK_EQ(0u, layer->blobs().size());
      CHECK_LE(0, top_id);
      CHECK_LE(0, top_data_id);
      const int top_count = top[top_id]->count();
      for (size_t blob_id = 0; blob_id < bottom.size(); ++blob_id) {
        CHECK_EQ(top_count, bottom[blob_id]->count());
      }
    }
    // Blobs to check: bottoms (all or one), then parameters.
    std::vector<Blob<Dtype>*> blobs_to_check;
    std::vector<bool> propagate_down(bottom.size(), check_bottom == -1);
    for (auto& blob : layer->blobs()) blobs_to_check.push_back(blob.get());
    if (check_bottom == -1) {
      for (auto* b : bottom) blobs_to_check.push_back(b);
    } else if (check_bottom >= 0) {
      CHECK_LT(check_bottom, static_cast<int>(bottom.size()));
      blobs_to_check.push_back(bottom[check_bottom]);
      propagate_down[check_bottom] = true;
    }
    CHECK_GT(blobs_to_check.size(), 0u) << "no blobs to check";
    // Analytic gradient.
    SeedThreadRng(seed_, 0);
    layer->Forward(bottom, top);
    GetObjAndGradient(*layer, top, top_id, top_data_id);
    for (auto& blob : layer->blobs()) caffe_set(blob->count(), Dtype(0), blob->mutable_cpu_diff());
    layer->Backward(top, propagate_down, bottom);
    std::vector<std::vector<Dtype>> computed(blobs_to_check.size());
    for (size_t b = 0; b < blobs_to_check.size(); ++b) {
      const Blob<Dtype>* blob = blobs_to_check[b];
      computed[b].assign(blob->cpu_diff(), blob->cpu_diff() + blob->count());
    }
    // Numeric gradient.
    for (size_t blob_id = 0; blob_id < blobs_to_check.size(); ++blob_id) {
      Blob<Dtype>* current_blob = blobs_to_check[blob_id];
      for (int feat_id = 0; feat_id < current_blob->count(); ++feat_id) {
        Dtype estimated_gradient = 0;
        Dtype positive_objective = 0;
        Dtype negative_objective = 0;
        if (!element_wise || (feat_id == top_data_id)) {
          current_blob->mutable_cpu_data()[feat_id] += stepsize_;
          SeedThreadRng(seed_, 0);
          layer->Forward(bottom, top);
          positive_objective = GetObjAndGradient(*layer, top, top_id, top_data_id);
          current_blob->mutable_cpu_data()[feat_id] -= stepsize_ * 2;
          SeedThreadRng(seed_, 0);
          layer->Forward(bottom, top);
          negative_objective = GetObjAndGradient(*layer, top, top_id, top_data_id);
          current_blob->mutable_cpu_data()[feat_id] += stepsize_;
          estimated_gradient = (positive_objective - negative_objective) / stepsize_ / 2.;
        }
        Dtype computed_gradient = computed[blob_id][feat_id];
        Dtype feature = current_blob->cpu_data()[feat_id];
        if (kink_range_ < 0 || std::fabs(feature) > kink_ + kink_range_ ||
            std::fabs(feature) < kink_ - kink_range_) {
          Dtype scale = std::max<Dtype>(
              std::max(std::fabs(computed_gradient), std::fabs(estimated_gradient)), Dtype(1.));
          EXPECT_NEAR(computed_gradient, estimated_gradient, threshold_ * scale)
              << "debug: (top_id, top_data_id, blob_id, feat_id)=" << top_id << ","
              << top_data_id << "," << blob_id << "," << feat_id
              << "; feat = " << feature << "; objective+ = " << positive_objective
              << "; objective- = " << negative_objective;
        }
      }
    }
  }

 private:
  Dtype GetObjAndGradient(const Layer<Dtype>& layer, const std::vector<Blob<Dtype>*>& top,
                          int top_id, int top_data_id) {
    Dtype loss = 0;
    if (top_id < 0) {
      // Loss = 1/2 sum of squares of every top; d/dtop = top.
      for (auto* top_blob : top) {
        const Dtype* top_data = top_blob->cpu_data();
        Dtype* top_diff = top_blob->mutable_cpu_diff();
        for (int j = 0; j < top_blob->count(); ++j) loss += top_data[j] * top_data[j];
        caffe_copy(top_blob->count(), top_data, top_diff);
      }
      loss /= 2.;
    } else {
      for (auto* top_blob : top) {
        caffe_set(top_blob->count(), Dtype(0), top_blob->mutable_cpu_diff());
      }
      const Dtype loss_weight = 2;
      loss = top[top_id]->cpu_data()[top_data_id] * loss_weight;
      top[top_id]->mutable_cpu_diff()[top_data_id] = loss_weight;
    }
    return loss;
  }

  Dtype stepsize_;
  Dtype threshold_;
  unsigned seed_;
  Dtype kink_;
  Dtype kink_range_;
};

}  // namespace deepspark
