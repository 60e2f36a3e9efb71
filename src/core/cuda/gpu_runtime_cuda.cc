// GpuRuntime over CUDA's runtime API (built only with the CUDA backend). A
// machine without a driver or a device is not an error until the GPU is
// asked for: DeviceCount says 0 and why.
#include <cuda_runtime_api.h>

#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"

namespace deepspark {
namespace {

std::string CudaMessage(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
}

#define CUDA_REQUIRE(call, what)                                             \
  do {                                                                       \
    const cudaError_t status_ = (call);                                      \
    REQUIRE(status_ == cudaSuccess) << what << ": " << CudaMessage(status_); \
  } while (0)

class CudaRuntimeImpl : public GpuRuntime {
 public:
  int DeviceCount(std::string* why) override {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      // Clears the sticky error, so that later calls report their own.
      cudaGetLastError();
      if (why) *why = CudaMessage(status);
      return 0;
    }
    if (count == 0 && why) *why = "the CUDA driver sees no device";
    return count;
  }

  GpuDeviceProperties Properties(int device) override {
    cudaDeviceProp p;
    CUDA_REQUIRE(cudaGetDeviceProperties(&p, device), "properties of GPU " << device);
    GpuDeviceProperties out;
    out.id = device;
    out.name = p.name;
    out.major = p.major;
    out.minor = p.minor;
    out.total_global_memory = p.totalGlobalMem;
    out.shared_memory_per_block = p.sharedMemPerBlock;
    out.registers_per_block = p.regsPerBlock;
    out.warp_size = p.warpSize;
    out.max_memory_pitch = p.memPitch;
    out.max_threads_per_block = p.maxThreadsPerBlock;
    for (int i = 0; i < 3; ++i) {
      out.max_block_dim[i] = p.maxThreadsDim[i];
      out.max_grid_dim[i] = p.maxGridSize[i];
    }
    // CUDA 13 dropped clockRate from cudaDeviceProp: ask for the attribute.
    int clock_khz = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device) != cudaSuccess) {
      cudaGetLastError();
      clock_khz = 0;
    }
    out.clock_rate_khz = clock_khz;
    out.total_constant_memory = p.totalConstMem;
    out.texture_alignment = p.textureAlignment;
    out.concurrent_copy_and_execution = p.asyncEngineCount > 0;
    out.multiprocessors = p.multiProcessorCount;
    int timeout = 0;
    if (cudaDeviceGetAttribute(&timeout, cudaDevAttrKernelExecTimeout, device) != cudaSuccess) {
      cudaGetLastError();
      timeout = 0;
    }
    out.kernel_execution_timeout = timeout != 0;
    return out;
  }

  void SetDevice(int device) override {
    CUDA_REQUIRE(cudaSetDevice(device), "cannot use GPU " << device);
  }

  int CurrentDevice() override {
    int device = 0;
    CUDA_REQUIRE(cudaGetDevice(&device), "no current GPU");
    return device;
  }

  void* Malloc(size_t bytes) override {
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 1 : bytes);
    if (status != cudaSuccess) {
      cudaGetLastError();
      THROW_ERROR() << "out of GPU memory: cannot allocate " << bytes << " bytes ("
                    << bytes / double(1 << 30) << " GiB): " << CudaMessage(status);
    }
    return ptr;
  }

  void Free(void* ptr) override {
    // Never throws (called from destructors); a failure here means the
    // device is already lost, which the next call reports.
    if (ptr && cudaFree(ptr) != cudaSuccess) cudaGetLastError();
  }

  void Memset(void* ptr, int value, size_t bytes) override {
    CUDA_REQUIRE(cudaMemset(ptr, value, bytes), "cudaMemset of " << bytes << " bytes");
  }

  void Memcpy(void* dst, const void* src, size_t bytes, Copy kind) override {
    const cudaMemcpyKind cuda_kind = kind == Copy::kHostToDevice   ? cudaMemcpyHostToDevice
                                     : kind == Copy::kDeviceToHost ? cudaMemcpyDeviceToHost
                                                                   : cudaMemcpyDeviceToDevice;
    CUDA_REQUIRE(cudaMemcpy(dst, src, bytes, cuda_kind), "cudaMemcpy of " << bytes << " bytes");
  }
};

}  // namespace

GpuRuntime& CudaRuntime() {
  static CudaRuntimeImpl* runtime = new CudaRuntimeImpl;
  return *runtime;
}

}  // namespace deepspark
