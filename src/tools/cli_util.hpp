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

// --gpu on train/test/time: empty keeps the CPU (false). Otherwise the ids
// are checked against the machine's devices (no device, a bad id: an error
// saying so); the one device becomes the calling thread's and its layers
// run in ComputeMode::kGpu (true). Several ids are refused: one GPU per
// process (distributed workers are how several GPUs train one model).
bool UseGpuFlag(const std::string& flag);
// Makes `device` the calling thread's and switches it to the GPU path.
void UseGpu(int device);

}  // namespace tools
}  // namespace deepspark
