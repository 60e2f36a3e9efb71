#include "deepspark/engine.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>

#include "deepspark/common.hpp"

namespace deepspark {
namespace {

ComputeEngine EngineFromEnvironment() {
  const char* env = std::getenv("DEEPSPARK_ENGINE");
  if (env == nullptr || *env == '\0') return ComputeEngine::kDnnl;
  try {
    return ParseEngine(env);
  } catch (const Error& e) {
    LOG(WARNING) << "DEEPSPARK_ENGINE: " << e.what() << "; using dnnl";
    return ComputeEngine::kDnnl;
  }
}

std::atomic<ComputeEngine>& DefaultEngineSlot() {
  static std::atomic<ComputeEngine> engine{EngineFromEnvironment()};
  return engine;
}

}  // namespace

void SetDefaultEngine(ComputeEngine engine) { DefaultEngineSlot() = engine; }

ComputeEngine DefaultEngine() { return DefaultEngineSlot(); }

ComputeEngine ParseEngine(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "caffe") return ComputeEngine::kCaffe;
  if (lower == "dnnl" || lower == "onednn") return ComputeEngine::kDnnl;
  THROW_ERROR() << "unknown engine \"" << name << "\" (known: caffe, dnnl)";
  return ComputeEngine::kCaffe;  // not reached: THROW_ERROR throws
}

const char* EngineName(ComputeEngine engine) {
  return engine == ComputeEngine::kCaffe ? "caffe" : "dnnl";
}

ComputeEngine ResolveEngine(int field_value) {
  switch (field_value) {
    case 1:
      return ComputeEngine::kCaffe;
    case 3:
      return ComputeEngine::kDnnl;
    default:
      return DefaultEngine();
  }
}

}  // namespace deepspark
