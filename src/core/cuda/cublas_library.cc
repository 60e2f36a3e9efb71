#include "cublas_library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {
namespace {

CublasLibrary Load() {
  // DEEPSPARK_CUBLAS if set (a pip wheel's copy, say), the soname of the
  // toolkit built against, then the toolkit's own folder (when the loader's
  // path does not have it).
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  std::vector<std::string> candidates;
  const char* env = std::getenv("DEEPSPARK_CUBLAS");
  if (env && *env) candidates.push_back(env);
  candidates.push_back(soname);
  candidates.push_back(std::string(DEEPSPARK_CUDA_LIBRARY_DIR) + "/" + soname);
  candidates.push_back("libcublas.so");
  void* handle = nullptr;
  std::string tried;
  for (const std::string& name : candidates) {
    handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) break;
    tried += "\n  " + name + ": " + dlerror();
  }
  REQUIRE(handle) << "cannot load cuBLAS (the CUDA toolkit's libcublas), tried:" << tried;
  CublasLibrary lib;
  auto find = [&](auto* slot, const char* symbol) {
    void* f = dlsym(handle, symbol);
    REQUIRE(f) << "cuBLAS has no " << symbol << ": " << dlerror();
    *slot = reinterpret_cast<std::remove_pointer_t<decltype(slot)>>(f);
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
