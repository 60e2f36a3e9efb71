// `deepspark inspect` and the counts behind it (deepspark/net_stats.hpp):
// LeNet's known parameter count, shapes and FLOPs, shared data and shared
// parameters counted once, and the tool's table.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "deepspark/io.hpp"
#include "deepspark/net_stats.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "test_util.hpp"

namespace deepspark {
namespace {

std::string LenetDeploy() { return CaffeZooDir() + "/bvlc/examples/mnist/lenet.prototxt"; }

const LayerStats& Find(const NetStats& stats, const std::string& name) {
  for (const LayerStats& s : stats.layers) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no layer " << name;
  return stats.layers.front();
}

TEST(InspectTest, LenetCounts) {
  Net<float> net(LenetDeploy(), caffe::TEST);
  const NetStats stats = ComputeNetStats(net);
  EXPECT_EQ(stats.name, "LeNet");
  EXPECT_EQ(stats.batch, 64);
  EXPECT_EQ(stats.params, 431080);
  EXPECT_EQ(stats.learnable_params, 431080);
  EXPECT_EQ(stats.param_bytes, 431080 * 4);

  const LayerStats& conv1 = Find(stats, "conv1");
  ASSERT_EQ(conv1.top_shapes.size(), 1u);
  EXPECT_EQ(conv1.top_shapes[0], (std::vector<int>{64, 20, 24, 24}));
  EXPECT_EQ(conv1.params, 20 * 25 + 20);
  // 2 x multiply-adds: 20 x 24 x 24 outputs of 25 weights each, per image.
  EXPECT_DOUBLE_EQ(conv1.forward_flops, 64.0 * 2 * 20 * 24 * 24 * 25);
  EXPECT_EQ(conv1.top_bytes, 64 * 20 * 24 * 24 * 4);

  const LayerStats& conv2 = Find(stats, "conv2");
  EXPECT_DOUBLE_EQ(conv2.forward_flops, 64.0 * 2 * 50 * 8 * 8 * (20 * 25));
  EXPECT_DOUBLE_EQ(Find(stats, "ip1").forward_flops, 64.0 * 2 * 500 * 800);
  EXPECT_DOUBLE_EQ(Find(stats, "ip2").forward_flops, 64.0 * 2 * 10 * 500);
  // Max pooling 2x2: one per window element.
  EXPECT_DOUBLE_EQ(Find(stats, "pool1").forward_flops, 64.0 * 20 * 12 * 12 * 4);
  EXPECT_DOUBLE_EQ(Find(stats, "data").forward_flops, 0);

  // relu1 runs in place: its top holds no memory of its own.
  const LayerStats& relu1 = Find(stats, "relu1");
  ASSERT_EQ(relu1.top_shares_bottom.size(), 1u);
  EXPECT_TRUE(relu1.top_shares_bottom[0]);
  EXPECT_EQ(relu1.top_bytes, 0);
  EXPECT_DOUBLE_EQ(relu1.forward_flops, 64.0 * 500);

  double flops = 0;
  int64_t top_bytes = 0;
  for (const LayerStats& s : stats.layers) {
    flops += s.forward_flops;
    top_bytes += s.top_bytes;
  }
  EXPECT_DOUBLE_EQ(stats.forward_flops, flops);
  EXPECT_EQ(stats.top_bytes, top_bytes);
}

TEST(InspectTest, SharedParametersAndSplitsCountOnce) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
name: "shared"
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "InnerProduct" bottom: "x" top: "a"
  param { name: "w" } param { name: "b" } inner_product_param { num_output: 3 } }
layer { name: "b" type: "InnerProduct" bottom: "x" top: "b"
  param { name: "w" } param { name: "b" } inner_product_param { num_output: 3 } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }
)",
                          "shared net", &param);
  Net<float> net(param);
  const NetStats stats = ComputeNetStats(net);
  EXPECT_EQ(stats.params, 3 * 3 + 3);
  EXPECT_EQ(Find(stats, "a").params, 12);
  EXPECT_EQ(Find(stats, "b").params, 0);
  EXPECT_EQ(Find(stats, "b").shared_params, 12);
  EXPECT_EQ(stats.param_bytes, 12 * 4);
  EXPECT_DOUBLE_EQ(Find(stats, "sum").forward_flops, 2.0 * 3);
  // x feeds two layers: the inserted Split's tops share x's data.
  int64_t blob_bytes = 0;
  for (const std::string name : {"x", "a", "b", "sum"}) {
    blob_bytes += net.blob_by_name(name)->count() * 4;
  }
  EXPECT_EQ(stats.top_bytes, blob_bytes);
}

std::string RunTool(const std::string& args, int* status) {
  std::string output;
  FILE* pipe = popen(("'" + ToolPath() + "' " + args + " 2>&1").c_str(), "r");
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  *status = pclose(pipe);
  return output;
}

TEST(InspectTest, ToolPrintsLayersAndTotals) {
  int status = 0;
  const std::string out = RunTool("inspect --model='" + LenetDeploy() + "'", &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("Net 'LeNet', phase TEST"), std::string::npos) << out;
  EXPECT_NE(out.find("conv1"), std::string::npos) << out;
  EXPECT_NE(out.find("64x20x24x24"), std::string::npos) << out;
  EXPECT_NE(out.find("36,864,000"), std::string::npos) << out;  // conv1, batch 64
  EXPECT_NE(out.find("parameters: 431,080 (431,080 learnable)"), std::string::npos) << out;
  EXPECT_NE(out.find("500*"), std::string::npos) << out;  // relu1 in place
  // The net's construction log stays quiet unless asked for.
  EXPECT_EQ(out.find("Top shape of"), std::string::npos) << out;

  const std::string missing = RunTool("inspect --model=/nonexistent.prototxt", &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << missing;
  EXPECT_NE(missing.find("/nonexistent.prototxt"), std::string::npos) << missing;
  const std::string bad_phase =
      RunTool("inspect --model='" + LenetDeploy() + "' --phase=VAL", &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << bad_phase;
  EXPECT_NE(bad_phase.find("--phase must be TRAIN or TEST"), std::string::npos) << bad_phase;
}

}  // namespace
}  // namespace deepspark
