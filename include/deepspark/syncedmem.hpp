// SyncedMemory: one byte buffer that may live on the host and on a GPU,
// copied lazily to wherever it is asked for, as Caffe's: a side is copied
// only when the other one changed it (mutable_*), so a net that stays on one
// side never copies. Device memory goes through Gpu() (gpu.hpp) and is taken
// on the device current at the first gpu_ call.
//
// Thread safety: none; a SyncedMemory belongs to one Blob, used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "deepspark/common.hpp"

namespace deepspark {

// Host buffers allocated by any SyncedMemory so far in this process (a
// counter for tests: after the first iteration a training step must not
// allocate). Thread-safe.
uint64_t HostAllocationCount();

// The most host memory this process can ever have, in bytes: RAM plus swap,
// or less under an address-space or data-size limit (ulimit -v, -d). A
// buffer larger than that can never be allocated (the kernel refuses it, or
// kills the process when it is touched). Computed once; thread-safe.
uint64_t HostMemoryLimit();

// Host memory is allocated on first use (cpu_data/mutable_cpu_data); when
// the allocation fails, that call throws deepspark::Error ("out of host
// memory ...") instead of aborting: a size too large for the machine comes
// from the input (a net's shapes), and the caller names the layer.
class SyncedMemory {
 public:
  // Where the newest copy of the bytes is.
  enum class Head { UNINITIALIZED, HEAD_AT_CPU, HEAD_AT_GPU, SYNCED };

  SyncedMemory() = default;
  explicit SyncedMemory(size_t size) : size_(size) {}
  ~SyncedMemory();

  const void* cpu_data();
  void* mutable_cpu_data();
  // Points the host copy at memory owned by someone else (not freed here).
  void set_cpu_data(void* data);
  // The device copy (allocated, and zeroed or copied from the host, on first
  // use); throws deepspark::Error when there is no GPU or no memory for it.
  const void* gpu_data();
  void* mutable_gpu_data();
  // Points the device copy at device memory owned by someone else.
  void set_gpu_data(void* data);
  Head head() const { return head_; }
  size_t size() const { return size_; }

 private:
  void ToCpu();
  void ToGpu();

  void* cpu_ptr_ = nullptr;
  void* gpu_ptr_ = nullptr;
  size_t size_ = 0;
  Head head_ = Head::UNINITIALIZED;
  bool own_cpu_data_ = false;
  bool own_gpu_data_ = false;

  DISABLE_COPY_AND_ASSIGN(SyncedMemory);
};

}  // namespace deepspark
