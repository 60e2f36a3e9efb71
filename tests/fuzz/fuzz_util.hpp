// What the fuzz targets share (tests/fuzz/, scripts/fuzz.sh): a private
// scratch folder per process, and the rule that a deepspark::Error is the
// expected answer to bad input (anything else escaping is a finding).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace deepspark {
namespace fuzz {

// A folder of this process under $TMPDIR, made once, removed at exit. (The
// name is never destroyed: a static string here was destroyed before the
// exit handler that needs it ran.)
inline const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* d = new std::string(std::string(tmp && *tmp ? tmp : "/tmp") + "/deepspark-fuzz." +
                              std::to_string(getpid()));
    std::filesystem::create_directories(*d);
    std::atexit([] { std::filesystem::remove_all(ScratchDir()); });
    return d;
  }();
  return *dir;
}

inline void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

inline std::string AsString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace fuzz
}  // namespace deepspark
