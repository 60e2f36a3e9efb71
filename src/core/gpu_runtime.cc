// The GPU runtime seen by the rest of the engine (gpu.hpp): the default one
// (CUDA's in a CUDA build: gpu_runtime_cuda.cc), the test override, and the
// --gpu flag's parsing.
#include <atomic>
#include <cstdlib>
#include <sstream>

#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"

namespace deepspark {

#ifdef DEEPSPARK_WITH_CUDA
GpuRuntime& CudaRuntime();  // gpu_runtime_cuda.cc
#endif

namespace {

// The runtime of a build without CUDA: no devices, and says so.
class NoGpuRuntime : public GpuRuntime {
 public:
  int DeviceCount(std::string* why) override {
    if (why) *why = kReason;
    return 0;
  }
  GpuDeviceProperties Properties(int) override { Fail(); }
  void SetDevice(int) override { Fail(); }
  int CurrentDevice() override { Fail(); }
  void* Malloc(size_t) override { Fail(); }
  void Free(void*) override {}
  void Memset(void*, int, size_t) override { Fail(); }
  void Memcpy(void*, const void*, size_t, Copy) override { Fail(); }

 private:
  static constexpr const char* kReason =
      "this build has no CUDA backend (built without nvcc, or with -DDEEPSPARK_CUDA=OFF)";
  [[noreturn]] static void Fail() { throw Error(kReason); }
};

GpuRuntime& DefaultRuntime() {
#ifdef DEEPSPARK_WITH_CUDA
  return CudaRuntime();
#else
  static NoGpuRuntime* runtime = new NoGpuRuntime;
  return *runtime;
#endif
}

std::atomic<GpuRuntime*> override_runtime{nullptr};

}  // namespace

namespace {
thread_local ComputeMode compute_mode = ComputeMode::kCpu;
}  // namespace

ComputeMode CurrentComputeMode() { return compute_mode; }
void SetComputeMode(ComputeMode mode) { compute_mode = mode; }

bool CudaBuild() {
#ifdef DEEPSPARK_WITH_CUDA
  return true;
#else
  return false;
#endif
}

GpuRuntime& Gpu() {
  GpuRuntime* runtime = override_runtime.load(std::memory_order_acquire);
  return runtime ? *runtime : DefaultRuntime();
}

GpuRuntime* SetGpuRuntimeForTesting(GpuRuntime* runtime) {
  return override_runtime.exchange(runtime, std::memory_order_acq_rel);
}

std::vector<int> ParseGpuIds(const std::string& flag, int device_count,
                             const std::string& no_device_reason) {
  REQUIRE(!flag.empty()) << "--gpu: empty; give device ids (0 or 0,1) or all";
  if (flag == "all") {
    REQUIRE(device_count > 0) << "--gpu=all: no CUDA device (" << no_device_reason << ")";
    std::vector<int> ids;
    for (int i = 0; i < device_count; ++i) ids.push_back(i);
    return ids;
  }
  std::vector<int> ids;
  std::stringstream items(flag);
  std::string item;
  while (std::getline(items, item, ',')) {
    char* end = nullptr;
    const long id = std::strtol(item.c_str(), &end, 10);
    REQUIRE(!item.empty() && end && *end == 0 && id >= 0)
        << "--gpu=" << flag << ": \"" << item << "\" is not a device id (0, 1, ... or all)";
    REQUIRE(device_count > 0) << "--gpu=" << flag << ": no CUDA device (" << no_device_reason
                              << ")";
    REQUIRE(id < device_count) << "--gpu=" << flag << ": device " << id << " does not exist ("
                               << device_count << " device" << (device_count == 1 ? "" : "s")
                               << ": 0.." << device_count - 1 << ")";
    for (int seen : ids) {
      REQUIRE(seen != id) << "--gpu=" << flag << ": device " << id << " given twice";
    }
    ids.push_back(static_cast<int>(id));
  }
  REQUIRE(!ids.empty()) << "--gpu=" << flag << ": no device id";
  return ids;
}

}  // namespace deepspark
