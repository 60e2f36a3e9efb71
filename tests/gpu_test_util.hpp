// Helpers of the GPU tests: skipping where there is no GPU, and a scoped
// compute mode.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "deepspark/gpu.hpp"

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

}  // namespace deepspark
