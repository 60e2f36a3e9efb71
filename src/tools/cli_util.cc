#include "cli_util.hpp"

#include <algorithm>
#include <cctype>

#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"

namespace deepspark {
namespace tools {

std::vector<std::string> NormalizeCaffeFlags(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    // "-solver=x" / "-solver x" -> "--solver=x" / "--solver x"; leave "-h",
    // negative numbers and "--x" alone.
    if (i > 0 && arg.size() > 2 && arg[0] == '-' && arg[1] != '-' &&
        !std::isdigit(static_cast<unsigned char>(arg[1]))) {
      arg = "-" + arg;
    }
    args.push_back(arg);
  }
  return args;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == ',') {
      if (!current.empty()) parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

caffe::Phase ParsePhase(const std::string& text) {
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper == "TRAIN") return caffe::TRAIN;
  if (upper == "TEST") return caffe::TEST;
  THROW_ERROR() << "--phase must be TRAIN or TEST, not '" << text << "'";
  return caffe::TRAIN;
}

bool UseGpuFlag(const std::string& flag) {
  if (flag.empty()) return false;
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  const std::vector<int> ids = ParseGpuIds(flag, count, why);
  REQUIRE(ids.size() == 1) << "--gpu=" << flag << ": one GPU per process; to train on "
                           << ids.size() << " GPUs run that many workers (--workers)";
  UseGpu(ids[0]);
  return true;
}

void UseGpu(int device) {
  Gpu().SetDevice(device);
  const GpuDeviceProperties p = Gpu().Properties(device);
  SetComputeMode(ComputeMode::kGpu);
  LOG(INFO) << "Using GPU " << device << " (" << p.name << ", " << p.multiprocessors
            << " multiprocessors); layers without GPU code run on the CPU, their blobs copied "
               "as needed";
}

}  // namespace tools
}  // namespace deepspark
