// `deepspark inspect`: each layer of a net with its top shapes, parameter
// count, forward FLOPs and memory, and the totals (deepspark/net_stats.hpp
// says how each is counted). The net is built as `test` and `time` build it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/net.hpp"
#include "deepspark/net_stats.hpp"

namespace deepspark {
namespace tools {

namespace {
struct InspectOptions {
  std::string model;
  std::string phase = "TEST";
  int level = 0;
  std::string stage;
};

// 1234567 -> "1,234,567".
std::string Grouped(double value) {
  char digits[64];
  std::snprintf(digits, sizeof(digits), "%.0f", value);
  std::string text = digits;
  const size_t first = text[0] == '-' ? 1 : 0;
  for (int i = static_cast<int>(text.size()) - 3; i > static_cast<int>(first); i -= 3) {
    text.insert(static_cast<size_t>(i), ",");
  }
  return text;
}

// 2.3e9 -> "2.3 G"; the unit follows.
std::string Scaled(double value) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  while (value >= 1000 && p < 5) {
    value /= 1000;
    ++p;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g %s", value, prefixes[p]);
  return text;
}

std::string ShapeText(const std::vector<int>& shape) {
  if (shape.empty()) return "scalar";
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  // Text columns (name, type, shapes, rule) to the left, numbers to the right.
  const auto left = [](size_t c) { return c < 3 || c == 7; };
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      line += left(c) ? row[c] + pad : pad + row[c];
      if (c + 1 < row.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

int RunInspect(const InspectOptions& opt) {
  REQUIRE(!opt.model.empty()) << "inspect needs --model (a net prototxt)";
  // The table is the output: the net's construction log only when asked for.
  if (!std::getenv("DEEPSPARK_LOG_LEVEL") && !std::getenv("GLOG_minloglevel")) {
    SetMinLogLevel(1);
  }
  const caffe::Phase phase = ParsePhase(opt.phase);
  std::vector<std::string> stages = SplitComma(opt.stage);
  Net<float> net(opt.model, phase, opt.level, &stages);
  const NetStats stats = ComputeNetStats(net);

  std::vector<std::vector<std::string>> rows = {{"layer", "type", "top shapes", "params",
                                                 "forward FLOPs", "top bytes", "param bytes",
                                                 "FLOPs counted as"}};
  bool any_shared_top = false, any_shared_param = false;
  for (const LayerStats& s : stats.layers) {
    std::string shapes;
    for (size_t t = 0; t < s.top_shapes.size(); ++t) {
      shapes += (t ? ", " : "") + ShapeText(s.top_shapes[t]) + (s.top_shares_bottom[t] ? "*" : "");
      any_shared_top = any_shared_top || s.top_shares_bottom[t];
    }
    std::string params = Grouped(static_cast<double>(s.params));
    if (s.shared_params) {
      params += " (+" + Grouped(static_cast<double>(s.shared_params)) + " shared)";
      any_shared_param = true;
    }
    rows.push_back({s.name, s.type, shapes, params, Grouped(s.forward_flops),
                    Grouped(static_cast<double>(s.top_bytes)),
                    Grouped(static_cast<double>(s.param_bytes)), s.flop_rule});
  }
  rows.push_back({"total", "", "", Grouped(static_cast<double>(stats.params)),
                  Grouped(stats.forward_flops), Grouped(static_cast<double>(stats.top_bytes)),
                  Grouped(static_cast<double>(stats.param_bytes)), ""});
  std::printf("Net '%s', phase %s, %zu layers, batch %d\n", stats.name.c_str(),
              phase == caffe::TRAIN ? "TRAIN" : "TEST", stats.layers.size(), stats.batch);
  PrintTable(rows);
  if (any_shared_top) {
    std::printf(
        "* shares its data with a bottom (in place, Split, Reshape): no memory of its "
        "own\n");
  }
  if (any_shared_param) std::printf("shared parameters are counted at their first layer\n");
  std::printf("parameters: %s (%s learnable), %sB\n",
              Grouped(static_cast<double>(stats.params)).c_str(),
              Grouped(static_cast<double>(stats.learnable_params)).c_str(),
              Scaled(static_cast<double>(stats.param_bytes)).c_str());
  std::printf("forward: %sFLOP per pass", Scaled(stats.forward_flops).c_str());
  if (stats.batch > 0) {
    std::printf(", %sFLOP per item of the batch of %d",
                Scaled(stats.forward_flops / stats.batch).c_str(), stats.batch);
  }
  std::printf(
      "\nmemory: %sB of blob data + %sB of parameters (training adds as much again for "
      "gradients, and the solver's history)\n",
      Scaled(static_cast<double>(stats.top_bytes)).c_str(),
      Scaled(static_cast<double>(stats.param_bytes)).c_str());
  return 0;
}
}  // namespace

Command AddInspectCommand(CLI::App* app) {
  auto opt = std::make_shared<InspectOptions>();
  app->add_option("--model", opt->model, "net prototxt");
  app->add_option("--phase", opt->phase, "TRAIN or TEST (default TEST)");
  app->add_option("--level", opt->level, "NetState level");
  app->add_option("--stage", opt->stage, "comma-separated NetState stages");
  return [opt]() { return RunInspect(*opt); };
}

}  // namespace tools
}  // namespace deepspark
