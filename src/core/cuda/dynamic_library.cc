#include "dynamic_library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {

void* OpenCudaLibrary(const char* what, const char* env_var, const std::string& soname,
                      const std::string& unversioned) {
  // The variable first (a pip wheel's copy, say), the soname of the toolkit
  // built against, then the toolkit's own folder (when the loader's path
  // does not have it).
  std::vector<std::string> candidates;
  const char* env = std::getenv(env_var);
  if (env && *env) candidates.push_back(env);
  candidates.push_back(soname);
  candidates.push_back(std::string(DEEPSPARK_CUDA_LIBRARY_DIR) + "/" + soname);
  candidates.push_back(unversioned);
  std::string tried;
  for (const std::string& name : candidates) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) return handle;
    tried += "\n  " + name + ": " + dlerror();
  }
  THROW_ERROR() << "cannot load " << what << " (set " << env_var
                << " to its file), tried:" << tried;
  return nullptr;  // not reached: the line above throws
}

void* CudaLibrarySymbol(void* handle, const char* what, const char* symbol) {
  void* f = dlsym(handle, symbol);
  REQUIRE(f) << what << " has no " << symbol << ": " << dlerror();
  return f;
}

}  // namespace deepspark
