// The GPU as DeepSpark sees it: whether this build has the CUDA backend, the
// devices, and device memory. Every GPU access goes through GpuRuntime, so
// tests can inject faults (a failed allocation, a lost device) whether or not
// a GPU is present.
//
// Without the CUDA build (-DDEEPSPARK_CUDA=OFF, or no nvcc), or without a
// driver or a device, the runtime reports no devices and says why; the other
// calls then throw deepspark::Error with that reason.
//
// Thread safety: the runtime's methods may be called from any thread (CUDA's
// runtime API is thread-safe; the current device is per host thread, as in
// CUDA). SetGpuRuntimeForTesting is not: tests call it before any GPU use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace deepspark {

// What `deepspark device-query` prints (Caffe's fields).
struct GpuDeviceProperties {
  int id = 0;
  std::string name;
  int major = 0, minor = 0;              // compute capability
  uint64_t total_global_memory = 0;      // bytes
  uint64_t shared_memory_per_block = 0;  // bytes
  int registers_per_block = 0;
  int warp_size = 0;
  uint64_t max_memory_pitch = 0;  // bytes
  int max_threads_per_block = 0;
  int max_block_dim[3] = {0, 0, 0};
  int max_grid_dim[3] = {0, 0, 0};
  int clock_rate_khz = 0;
  uint64_t total_constant_memory = 0;  // bytes
  uint64_t texture_alignment = 0;      // bytes
  bool concurrent_copy_and_execution = false;
  int multiprocessors = 0;
  bool kernel_execution_timeout = false;
};

class GpuRuntime {
 public:
  enum class Copy { kHostToDevice, kDeviceToHost, kDeviceToDevice };

  virtual ~GpuRuntime() = default;
  // The number of usable devices; 0 when there is none, with *why (if
  // given) saying why: no CUDA build, no driver, no device.
  virtual int DeviceCount(std::string* why) = 0;
  virtual GpuDeviceProperties Properties(int device) = 0;
  // The calling thread's device.
  virtual void SetDevice(int device) = 0;
  virtual int CurrentDevice() = 0;
  // Device memory on the current device; throws deepspark::Error ("out of
  // GPU memory ...") when it cannot be had.
  virtual void* Malloc(size_t bytes) = 0;
  virtual void Free(void* ptr) = 0;
  virtual void Memset(void* ptr, int value, size_t bytes) = 0;
  // Synchronous copies (the default stream).
  virtual void Memcpy(void* dst, const void* src, size_t bytes, Copy kind) = 0;
};

// Where the calling thread's layers compute, as Caffe's Caffe::mode(): kCpu
// unless set. Per host thread, so data-prefetch threads stay on the CPU.
enum class ComputeMode { kCpu, kGpu };
ComputeMode CurrentComputeMode();
void SetComputeMode(ComputeMode mode);

// True in a build with the CUDA backend.
bool CudaBuild();
// The process's runtime: CUDA's in a CUDA build, else one with no devices.
GpuRuntime& Gpu();
// Replaces the runtime (a fault-injecting wrapper in tests); nullptr
// restores the default. Returns the one it replaced.
GpuRuntime* SetGpuRuntimeForTesting(GpuRuntime* runtime);

// Caffe's --gpu flag: "0", "0,2" or "all" -> device ids, each in [0,
// device_count); "all" with no device, a malformed id or one out of range
// throws deepspark::Error naming the flag and what there is.
std::vector<int> ParseGpuIds(const std::string& flag, int device_count,
                             const std::string& no_device_reason);

}  // namespace deepspark
