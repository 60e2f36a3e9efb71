// Helpers of the GPU tests: skipping where there is no GPU, a scoped
// compute mode, and one layer's GPU path compared with its CPU path.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/gpu.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "plumbing_test_util.hpp"

namespace deepspark {

// Skips the calling test, with the reason, unless the machine has a GPU.
#define REQUIRE_GPU_OR_SKIP()                                              \
  do {                                                                     \
    std::string why_;                                                      \
    if (Gpu().DeviceCount(&why_) == 0) GTEST_SKIP() << "no GPU: " << why_; \
  } while (0)

// Sets the calling thread's compute mode for a scope.
struct ComputeModeScope {
  explicit ComputeModeScope(ComputeMode mode) : saved(CurrentComputeMode()) {
    SetComputeMode(mode);
  }
  ~ComputeModeScope() { SetComputeMode(saved); }
  ComputeMode saved;
};

// Forward and backward of `make()`'s layer on the CPU and on the GPU path,
// from the same inputs, weights and top gradient: tops, bottom gradients
// and parameter gradients agree to `tol`.
template <typename Dtype, typename Make>
void ExpectGpuEqualsCpu(Make make, const std::vector<int>& bottom_shape, double tol) {
  struct Run {
    std::shared_ptr<Layer<Dtype>> layer;  // make() may give a unique_ptr or a shared_ptr
    std::unique_ptr<Blob<Dtype>> bottom;
    Blob<Dtype> top;
  };
  Run runs[2];
  for (int side = 0; side < 2; ++side) {
    ComputeModeScope mode(side == 0 ? ComputeMode::kCpu : ComputeMode::kGpu);
    Run& r = runs[side];
    r.layer = make();
    r.bottom = plumbing_test::GaussianBlob<Dtype>(bottom_shape, 11);
    std::vector<Blob<Dtype>*> bottom{r.bottom.get()}, top{&r.top};
    SeedThreadRng(5, 0);  // the same filled weights on both sides
    r.layer->SetUp(bottom, top);
    r.layer->Forward(bottom, top);
    for (int i = 0; i < r.top.count(); ++i) {
      r.top.mutable_cpu_diff()[i] = Dtype(std::sin(i + 1.0));
    }
    for (auto& p : r.layer->blobs()) caffe_set(p->count(), Dtype(0), p->mutable_cpu_diff());
    r.layer->Backward(top, {true}, bottom);
  }
  auto expect_near = [&](const Dtype* a, const Dtype* b, int n, const char* what) {
    for (int i = 0; i < n; ++i) EXPECT_NEAR(a[i], b[i], tol) << what << " " << i;
  };
  expect_near(runs[0].top.cpu_data(), runs[1].top.cpu_data(), runs[0].top.count(), "top");
  expect_near(runs[0].bottom->cpu_diff(), runs[1].bottom->cpu_diff(), runs[0].bottom->count(),
              "bottom diff");
  for (size_t p = 0; p < runs[0].layer->blobs().size(); ++p) {
    expect_near(runs[0].layer->blobs()[p]->cpu_diff(), runs[1].layer->blobs()[p]->cpu_diff(),
                runs[0].layer->blobs()[p]->count(), "param diff");
  }
}

// What one run of a net computed: every blob's data and diff and every
// parameter's diff, each named.
struct NetValues {
  std::vector<std::string> names;
  std::vector<std::vector<double>> values;
};

// One forward (and, with `backward`, one backward) of the net in `mode`,
// from seed 7: DummyData inputs and filled weights are drawn alike in every
// run.
template <typename Dtype>
NetValues RunNetOnce(const caffe::NetParameter& param, ComputeMode mode, bool backward) {
  ComputeModeScope scope(mode);
  SeedThreadRng(7, 0);
  Net<Dtype> net(param);
  net.Forward();
  if (backward) net.Backward();
  NetValues out;
  auto keep = [&](const Dtype* p, int n, const std::string& what) {
    out.values.emplace_back(p, p + n);
    out.names.push_back(what);
  };
  for (size_t b = 0; b < net.blobs().size(); ++b) {
    const Blob<Dtype>& blob = *net.blobs()[b];
    keep(blob.cpu_data(), blob.count(), "blob '" + net.blob_names()[b] + "' data");
    if (backward) keep(blob.cpu_diff(), blob.count(), "blob '" + net.blob_names()[b] + "' diff");
  }
  for (size_t p = 0; backward && p < net.params().size(); ++p) {
    const Blob<Dtype>& blob = *net.params()[p];
    keep(blob.cpu_diff(), blob.count(), "param " + std::to_string(p) + " diff");
  }
  return out;
}

// Two runs' values agree to `tol`, relative to max(1, |first|); at most
// five failures reported per value.
inline void ExpectSameNetValues(const NetValues& first, const NetValues& second, double tol) {
  ASSERT_EQ(first.values.size(), second.values.size());
  for (size_t k = 0; k < first.values.size(); ++k) {
    ASSERT_EQ(first.values[k].size(), second.values[k].size()) << first.names[k];
    int reported = 0;
    for (size_t i = 0; i < first.values[k].size() && reported < 5; ++i) {
      const double a = first.values[k][i], b = second.values[k][i];
      if (std::isnan(a) && std::isnan(b)) continue;  // both undefined alike
      if (!(std::abs(b - a) <= tol * std::max(1.0, std::abs(a)))) {
        ADD_FAILURE() << first.names[k] << " [" << i << "]: " << b << " where the first run had "
                      << a;
        ++reported;
      }
    }
  }
}

// A whole net (its text; force_backward and a loss at the end, so every
// blob gets a gradient) forward and backward on the CPU and on the GPU
// path, from the same seed (a uniform DummyData in [0, C) makes labels,
// truncated as Caffe does): every blob's data and diff and every
// parameter's diff agree to `tol` (relative; the second run is the GPU's).
// Layers with randomness of their own (Dropout) draw differently on the two
// paths: leave them out.
template <typename Dtype>
void ExpectGpuNetEqualsCpu(const std::string& net_text, double tol) {
  caffe::NetParameter param;
  ReadProtoFromTextString(net_text, "GPU comparison net", &param);
  ExpectSameNetValues(RunNetOnce<Dtype>(param, ComputeMode::kCpu, true),
                      RunNetOnce<Dtype>(param, ComputeMode::kGpu, true), tol);
}

}  // namespace deepspark
