#include "deepspark/syncedmem.hpp"

#include <sys/resource.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "deepspark/gpu.hpp"

namespace deepspark {
namespace {
std::atomic<uint64_t> host_allocations{0};

// 64-byte alignment keeps BLAS and vectorised loops on full cache lines.
void* AllocHost(size_t size) {
  void* ptr = nullptr;
  size_t rounded = (size + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  host_allocations.fetch_add(1, std::memory_order_relaxed);
  if (posix_memalign(&ptr, 64, rounded) != 0) {
    THROW_ERROR() << "out of host memory: cannot allocate " << size << " bytes ("
                  << size / double(1 << 30) << " GiB)";
  }
  return ptr;
}
}  // namespace

uint64_t HostAllocationCount() { return host_allocations.load(std::memory_order_relaxed); }

uint64_t HostMemoryLimit() {
  static const uint64_t limit = [] {
    uint64_t bytes = UINT64_MAX;
    struct sysinfo info;
    if (sysinfo(&info) == 0) {
      bytes = (static_cast<uint64_t>(info.totalram) + info.totalswap) * info.mem_unit;
    }
    for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
      struct rlimit rl;
      if (getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        bytes = std::min<uint64_t>(bytes, rl.rlim_cur);
      }
    }
    return bytes;
  }();
  return limit;
}

SyncedMemory::~SyncedMemory() {
  if (cpu_ptr_ && own_cpu_data_) std::free(cpu_ptr_);
  if (gpu_ptr_ && own_gpu_data_) Gpu().Free(gpu_ptr_);
}

void SyncedMemory::ToCpu() {
  switch (head_) {
    case Head::UNINITIALIZED:
      cpu_ptr_ = AllocHost(size_);
      std::memset(cpu_ptr_, 0, size_);
      own_cpu_data_ = true;
      head_ = Head::HEAD_AT_CPU;
      break;
    case Head::HEAD_AT_GPU:
      if (!cpu_ptr_) {
        cpu_ptr_ = AllocHost(size_);
        own_cpu_data_ = true;
      }
      Gpu().Memcpy(cpu_ptr_, gpu_ptr_, size_, GpuRuntime::Copy::kDeviceToHost);
      head_ = Head::SYNCED;
      break;
    case Head::HEAD_AT_CPU:
    case Head::SYNCED:
      break;
  }
}

// Each step leaves the object valid when a GPU call throws: the head moves
// only once the bytes are where it says.
void SyncedMemory::ToGpu() {
  switch (head_) {
    case Head::UNINITIALIZED:
      gpu_ptr_ = Gpu().Malloc(size_);
      own_gpu_data_ = true;
      Gpu().Memset(gpu_ptr_, 0, size_);
      head_ = Head::HEAD_AT_GPU;
      break;
    case Head::HEAD_AT_CPU:
      if (!gpu_ptr_) {
        gpu_ptr_ = Gpu().Malloc(size_);
        own_gpu_data_ = true;
      }
      Gpu().Memcpy(gpu_ptr_, cpu_ptr_, size_, GpuRuntime::Copy::kHostToDevice);
      head_ = Head::SYNCED;
      break;
    case Head::HEAD_AT_GPU:
    case Head::SYNCED:
      break;
  }
}

const void* SyncedMemory::gpu_data() {
  ToGpu();
  return gpu_ptr_;
}

void* SyncedMemory::mutable_gpu_data() {
  ToGpu();
  head_ = Head::HEAD_AT_GPU;
  return gpu_ptr_;
}

void SyncedMemory::set_gpu_data(void* data) {
  CHECK(data);
  if (own_gpu_data_ && gpu_ptr_) Gpu().Free(gpu_ptr_);
  gpu_ptr_ = data;
  head_ = Head::HEAD_AT_GPU;
  own_gpu_data_ = false;
}

const void* SyncedMemory::cpu_data() {
  ToCpu();
  return cpu_ptr_;
}

void* SyncedMemory::mutable_cpu_data() {
  ToCpu();
  head_ = Head::HEAD_AT_CPU;
  return cpu_ptr_;
}

void SyncedMemory::set_cpu_data(void* data) {
  CHECK(data);
  if (own_cpu_data_ && cpu_ptr_) std::free(cpu_ptr_);
  cpu_ptr_ = data;
  head_ = Head::HEAD_AT_CPU;
  own_cpu_data_ = false;
}

}  // namespace deepspark
