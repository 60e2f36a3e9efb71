// Helpers shared by the tests: typed test lists and paths to fixtures.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace deepspark {

using TestDtypes = ::testing::Types<float, double>;

// Root of the source tree.
inline std::string SourceDir() { return DEEPSPARK_SOURCE_DIR; }
// ../shared next to the checkout (the fixtures: caffe-zoo, datasets);
// DEEPSPARK_SHARED_DIR overrides it.
inline std::string SharedDir() {
  const char* env = std::getenv("DEEPSPARK_SHARED_DIR");
  if (env && *env) return env;
  return SourceDir() + "/../shared";
}
inline std::string CaffeZooDir() { return SharedDir() + "/caffe-zoo"; }
inline std::string ToolPath() { return DEEPSPARK_TOOL_PATH; }

}  // namespace deepspark
