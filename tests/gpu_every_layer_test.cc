// Every registered layer type that takes bottoms, on the GPU path against
// the CPU path: random DummyData inputs (labels drawn as class indices) ->
// the layer under test -> the sum of squares of each of its tops as the
// loss (so backward carries a gradient that differs per value), forward and
// backward, and every blob's data and diff and every parameter's diff
// compared. Layers with GPU code of their own are checked against their CPU
// code; the others run their CPU code on the GPU path, which checks that the
// blobs move between the sides as each needs. Layers without a backward
// (ArgMax, Accuracy) are compared forward only; Dropout in the TEST phase
// (its masks are drawn differently on the two paths).
//
// The GPU comparison reports SKIPPED without a GPU (scripts/gpu-check.sh runs
// it on one). The same sweep with both runs on the CPU runs everywhere: every
// layer gives the same numbers twice from the same seed, which the GPU
// comparison relies on.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "gpu_test_util.hpp"
#include "layer_wiring.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

// layer_wiring's inputs, and LSTMUnit's: the previous cell state c_prev (1
// x N x 3), the gate inputs (1 x N x 12) and the continuation flags cont1
// (1 x N; 0 or 1); and BatchReindex's perm (N indices, all 1).
const std::vector<layer_wiring::Input>& Inputs() {
  static const auto* inputs = [] {
    auto* all = new std::vector<layer_wiring::Input>(layer_wiring::Inputs());
    all->push_back({"c_prev", "dim: 1 dim: N dim: 3", 0});
    all->push_back({"gates", "dim: 1 dim: N dim: 12", 0});
    all->push_back({"cont1", "dim: 1 dim: N", 2});
    all->push_back({"perm", "dim: N", 0});
    return all;
  }();
  return *inputs;
}

std::vector<std::vector<std::string>> BottomSets() {
  auto sets = layer_wiring::BottomSets();
  sets.push_back({"c_prev", "gates", "cont1"});
  sets.push_back({"x", "perm"});
  return sets;
}

// An input's filler: N(0, 1), but positive for Log, and indices where a
// layer takes only whole ones (Embed's words, below its input_dim 10, and
// BatchReindex's items).
std::string DataFiller(const std::string& type, const std::string& input) {
  if (input == "perm") return "type: \"constant\" value: 1";
  if (type == "Log") return "type: \"uniform\" min: 0.2 max: 2";
  if (type == "Embed") return "type: \"constant\" value: 3";
  return "type: \"gaussian\" std: 1";
}

// The net around one layer, batch 2; `tops` tops, each squared and summed
// into a loss of weight 1.
std::string NetText(const std::string& type, const std::vector<std::string>& bottoms, int tops) {
  const bool test_phase = type == "Dropout";
  std::string text = "name: \"every_layer\" force_backward: true state { phase: ";
  text += test_phase ? "TEST" : "TRAIN";
  text += " }\n";
  for (const auto& input : Inputs()) {
    if (std::find(bottoms.begin(), bottoms.end(), input.name) == bottoms.end()) continue;
    const std::string filler =
        input.classes > 0 ? "type: \"uniform\" min: 0 max: " + std::to_string(input.classes - 0.001)
                          : DataFiller(type, input.name);
    text += "layer { name: \"in_" + input.name + "\" type: \"DummyData\" top: \"" + input.name +
            "\" dummy_data_param { shape { " + layer_wiring::WithBatch(input.shape, 2) +
            " } data_filler { " + filler + " } } }\n";
  }
  auto it = layer_wiring::ParamsFor().find(type);
  text += "layer { name: \"under_test\" type: \"" + type + "\" ";
  for (const std::string& bottom : bottoms) text += "bottom: \"" + bottom + "\" ";
  for (int i = 0; i < tops; ++i) text += "top: \"y" + std::to_string(i) + "\" ";
  text += (it == layer_wiring::ParamsFor().end() ? std::string() : it->second) + " }\n";
  for (int i = 0; i < tops; ++i) {
    const std::string n = std::to_string(i);
    // A top with a loss weight adds the sum of its values to the loss.
    text += "layer { name: \"square" + n + "\" type: \"Power\" bottom: \"y" + n + "\" top: \"loss" +
            n + "\" loss_weight: 1 power_param { power: 2 } }\n";
  }
  return text;
}

caffe::NetParameter Parse(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "every-layer net", &param);
  return param;
}

// The first wiring with which the type's net runs forward on the CPU (one
// top, two for LSTMUnit, or none for Silence), and whether its backward runs too; false for
// the types that take no bottom (the data layers) or need parameters this
// test does not give.
template <typename Dtype>
bool FindNet(const std::string& type, caffe::NetParameter* param, bool* backward) {
  for (const auto& bottoms : BottomSets()) {
    for (int tops : {1, 2, 0}) {
      const caffe::NetParameter candidate = Parse(NetText(type, bottoms, tops));
      try {
        RunNetOnce<Dtype>(candidate, ComputeMode::kCpu, false);
      } catch (const Error&) {
        continue;
      }
      *param = candidate;
      try {
        RunNetOnce<Dtype>(candidate, ComputeMode::kCpu, true);
        *backward = true;
      } catch (const Error&) {
        *backward = false;  // a layer without a backward (ArgMax, Accuracy)
      }
      return true;
    }
  }
  return false;
}

template <typename Dtype>
void ExpectRunsAgree(const std::string& type, ComputeMode second, double tol) {
  caffe::NetParameter param;
  bool backward = false;
  if (!FindNet<Dtype>(type, &param, &backward))
    GTEST_SKIP() << type << ": no wiring here (a data layer, or one that writes files)";
  SCOPED_TRACE(type + (backward ? "" : " (forward only)"));
  ExpectSameNetValues(RunNetOnce<Dtype>(param, ComputeMode::kCpu, backward),
                      RunNetOnce<Dtype>(param, second, backward), tol);
}

class GpuEveryLayerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuEveryLayerTest, GpuPathEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  ExpectRunsAgree<float>(GetParam(), ComputeMode::kGpu, 1e-3);
  ExpectRunsAgree<double>(GetParam(), ComputeMode::kGpu, 1e-9);
}

// What the GPU comparison relies on, checked where there is no GPU too.
TEST_P(GpuEveryLayerTest, TwoCpuRunsAgree) {
  ExpectRunsAgree<float>(GetParam(), ComputeMode::kCpu, 1e-6);
  ExpectRunsAgree<double>(GetParam(), ComputeMode::kCpu, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Layers, GpuEveryLayerTest,
                         ::testing::ValuesIn(layer_wiring::RegisteredTypes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace deepspark
