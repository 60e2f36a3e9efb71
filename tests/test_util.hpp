// Helpers shared by the tests: typed test lists and paths to fixtures.
#pragma once

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace deepspark {

using TestDtypes = ::testing::Types<float, double>;

// Root of the source tree.
inline std::string SourceDir() { return DEEPSPARK_SOURCE_DIR; }
// The fixtures (caffe-zoo, datasets): DEEPSPARK_SHARED_DIR, else ../shared
// next to the checkout, else /work/shared (a clone elsewhere, as CI makes).
// scripts/shared-dir.sh applies the same rule.
inline std::string SharedDir() {
  const char* env = std::getenv("DEEPSPARK_SHARED_DIR");
  if (env && *env) return env;
  const std::string beside = SourceDir() + "/../shared";
  struct stat st;
  return stat(beside.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? beside : "/work/shared";
}
inline std::string CaffeZooDir() { return SharedDir() + "/caffe-zoo"; }
inline std::string ToolPath() { return DEEPSPARK_TOOL_PATH; }

}  // namespace deepspark
