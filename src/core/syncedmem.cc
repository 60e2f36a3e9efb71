#include "deepspark/syncedmem.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

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
    LOG(FATAL) << "Out of host memory allocating " << size << " bytes";
  }
  return ptr;
}
}  // namespace

uint64_t HostAllocationCount() { return host_allocations.load(std::memory_order_relaxed); }

SyncedMemory::~SyncedMemory() {
  if (cpu_ptr_ && own_cpu_data_) std::free(cpu_ptr_);
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
      LOG(FATAL) << "GPU memory is not available in this build";
      break;
    case Head::HEAD_AT_CPU:
    case Head::SYNCED:
      break;
  }
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
