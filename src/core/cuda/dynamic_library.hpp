// Opening a CUDA library (cuBLAS, cuDNN) at run time instead of linking it,
// and looking up its functions: the loaders of cublas_library.cc and
// cudnn_library.cc.
//
// Thread safety: the functions may be called from any thread (dlopen's).
#pragma once

#include <string>
#include <type_traits>

namespace deepspark {

// dlopen()s the first of: $`env_var` (when set), `soname`, `soname` in the
// CUDA toolkit's library folder, then `unversioned`. Throws
// deepspark::Error naming `what`, every file tried and dlopen's reason.
void* OpenCudaLibrary(const char* what, const char* env_var, const std::string& soname,
                      const std::string& unversioned);

// The address of `symbol` in `handle`; throws deepspark::Error naming
// `what` when it is missing.
void* CudaLibrarySymbol(void* handle, const char* what, const char* symbol);

// Fills a function-pointer slot from the library.
template <typename Fn>
void FindCudaSymbol(void* handle, const char* what, Fn* slot, const char* symbol) {
  *slot = reinterpret_cast<Fn>(CudaLibrarySymbol(handle, what, symbol));
}

}  // namespace deepspark
