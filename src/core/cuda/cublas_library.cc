#include "cublas_library.hpp"

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "dynamic_library.hpp"

namespace deepspark {
namespace {

CublasLibrary Load() {
  void* handle =
      OpenCudaLibrary("cuBLAS (the CUDA toolkit's libcublas)", "DEEPSPARK_CUBLAS",
                      "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR), "libcublas.so");
  CublasLibrary lib;
  auto find = [&](auto* slot, const char* symbol) {
    FindCudaSymbol(handle, "cuBLAS", slot, symbol);
  };
  find(&lib.Create, "cublasCreate_v2");
  find(&lib.Sgemm, "cublasSgemm_v2");
  find(&lib.Dgemm, "cublasDgemm_v2");
  find(&lib.Sgemv, "cublasSgemv_v2");
  find(&lib.Dgemv, "cublasDgemv_v2");
  find(&lib.Saxpy, "cublasSaxpy_v2");
  find(&lib.Daxpy, "cublasDaxpy_v2");
  find(&lib.Sscal, "cublasSscal_v2");
  find(&lib.Dscal, "cublasDscal_v2");
  find(&lib.Sdot, "cublasSdot_v2");
  find(&lib.Ddot, "cublasDdot_v2");
  find(&lib.Sasum, "cublasSasum_v2");
  find(&lib.Dasum, "cublasDasum_v2");
  return lib;
}

}  // namespace

const CublasLibrary& Cublas() {
  // Loaded once; a failure is thrown to every caller (and tried again).
  static std::mutex mutex;
  static CublasLibrary* library = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (!library) library = new CublasLibrary(Load());
  return *library;
}

}  // namespace deepspark
