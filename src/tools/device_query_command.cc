// `deepspark device-query`: Caffe's `caffe device_query`: the properties of
// the GPUs given by --gpu (default: all of them), printed as Caffe prints
// them. Without a device it fails and says why (no CUDA build, no driver).
#include <cstdio>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"

namespace deepspark {
namespace tools {

namespace {
int RunDeviceQuery(const std::string& gpu_flag) {
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  for (int id : ParseGpuIds(gpu_flag.empty() ? "all" : gpu_flag, count, why)) {
    const GpuDeviceProperties p = Gpu().Properties(id);
    const auto yes_no = [](bool b) { return b ? "Yes" : "No"; };
    std::printf("Querying GPU %d\n", id);
    std::printf("Device id:                     %d\n", p.id);
    std::printf("Major revision number:         %d\n", p.major);
    std::printf("Minor revision number:         %d\n", p.minor);
    std::printf("Name:                          %s\n", p.name.c_str());
    std::printf("Total global memory:           %llu\n",
                static_cast<unsigned long long>(p.total_global_memory));
    std::printf("Total shared memory per block: %llu\n",
                static_cast<unsigned long long>(p.shared_memory_per_block));
    std::printf("Total registers per block:     %d\n", p.registers_per_block);
    std::printf("Warp size:                     %d\n", p.warp_size);
    std::printf("Maximum memory pitch:          %llu\n",
                static_cast<unsigned long long>(p.max_memory_pitch));
    std::printf("Maximum threads per block:     %d\n", p.max_threads_per_block);
    std::printf("Maximum dimension of block:    %d, %d, %d\n", p.max_block_dim[0],
                p.max_block_dim[1], p.max_block_dim[2]);
    std::printf("Maximum dimension of grid:     %d, %d, %d\n", p.max_grid_dim[0], p.max_grid_dim[1],
                p.max_grid_dim[2]);
    std::printf("Clock rate:                    %d\n", p.clock_rate_khz);
    std::printf("Total constant memory:         %llu\n",
                static_cast<unsigned long long>(p.total_constant_memory));
    std::printf("Texture alignment:             %llu\n",
                static_cast<unsigned long long>(p.texture_alignment));
    std::printf("Concurrent copy and execution: %s\n", yes_no(p.concurrent_copy_and_execution));
    std::printf("Number of multiprocessors:     %d\n", p.multiprocessors);
    std::printf("Kernel execution timeout:      %s\n", yes_no(p.kernel_execution_timeout));
  }
  return 0;
}
}  // namespace

Command AddDeviceQueryCommand(CLI::App* app) {
  auto gpu = std::make_shared<std::string>();
  app->add_option("--gpu", *gpu, "GPU ids to query: 0, 0,1 or all (the default)");
  return [gpu]() { return RunDeviceQuery(*gpu); };
}

}  // namespace tools
}  // namespace deepspark
