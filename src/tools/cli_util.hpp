// Shared helpers of the `deepspark` command line.
#pragma once

#include <string>
#include <vector>

#include "deepspark/math_functions.hpp"  // SetBlasThreads
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {
namespace tools {

// Caffe's tools use gflags, where "-solver=x" and "--solver=x" are equal.
// CLI11 wants "--solver=x": rewrite single-dash long options.
std::vector<std::string> NormalizeCaffeFlags(int argc, char** argv);

// "a,b,c" -> {"a","b","c"}; empty string -> {}.
std::vector<std::string> SplitComma(const std::string& text);

// "TRAIN"/"TEST" (case-insensitive) -> phase; throws deepspark::Error.
caffe::Phase ParsePhase(const std::string& text);

}  // namespace tools
}  // namespace deepspark
