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
    std::unique_ptr<Layer<Dtype>> layer;
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

// A whole net (its text; force_backward and a loss at the end, so every
// blob gets a gradient) forward and backward on the CPU and on the GPU
// path, from the same seed (DummyData inputs and filled weights are drawn
// alike; a uniform DummyData in [0, C) makes labels, truncated as Caffe
// does): every blob's data and diff and every parameter's diff agree to
// `tol`, relative to max(1, |cpu value|). Layers with randomness of their
// own (Dropout) draw differently on the two paths: leave them out.
template <typename Dtype>
void ExpectGpuNetEqualsCpu(const std::string& net_text, double tol) {
  caffe::NetParameter param;
  ReadProtoFromTextString(net_text, "GPU comparison net", &param);
  std::vector<std::vector<Dtype>> values[2];
  std::vector<std::string> names;
  for (int side = 0; side < 2; ++side) {
    ComputeModeScope mode(side == 0 ? ComputeMode::kCpu : ComputeMode::kGpu);
    SeedThreadRng(7, 0);
    Net<Dtype> net(param);
    net.Forward();
    net.Backward();
    names.clear();
    auto keep = [&](const Dtype* p, int n, const std::string& what) {
      values[side].emplace_back(p, p + n);
      names.push_back(what);
    };
    for (size_t b = 0; b < net.blobs().size(); ++b) {
      const Blob<Dtype>& blob = *net.blobs()[b];
      keep(blob.cpu_data(), blob.count(), "blob '" + net.blob_names()[b] + "' data");
      keep(blob.cpu_diff(), blob.count(), "blob '" + net.blob_names()[b] + "' diff");
    }
    for (size_t p = 0; p < net.params().size(); ++p) {
      const Blob<Dtype>& blob = *net.params()[p];
      keep(blob.cpu_diff(), blob.count(), "param " + std::to_string(p) + " diff");
    }
  }
  ASSERT_EQ(values[0].size(), values[1].size());
  for (size_t k = 0; k < values[0].size(); ++k) {
    ASSERT_EQ(values[0][k].size(), values[1][k].size()) << names[k];
    int reported = 0;
    for (size_t i = 0; i < values[0][k].size() && reported < 5; ++i) {
      const double cpu = values[0][k][i], gpu = values[1][k][i];
      if (!(std::abs(gpu - cpu) <= tol * std::max(1.0, std::abs(cpu)))) {
        ADD_FAILURE() << names[k] << " [" << i << "]: GPU " << gpu << ", CPU " << cpu;
        ++reported;
      }
    }
  }
}

}  // namespace deepspark
