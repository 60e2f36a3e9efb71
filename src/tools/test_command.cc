// `deepspark test`: Caffe's `caffe test`: build the net in TEST phase, load
// weights, run --iterations forward passes and report the mean of each
// output blob element (and the weighted loss).
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/net.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/progress.hpp"
#include "deepspark/solver.hpp"

namespace deepspark {
namespace tools {

namespace {
struct TestOptions {
  std::string model;
  std::string weights;
  int iterations = 50;
  int level = 0;
  std::string stage;
  std::string gpu;
  std::string phase = "TEST";
  int threads = 0;
};

int RunTest(const TestOptions& opt) {
  REQUIRE(!opt.model.empty()) << "test needs --model";
  REQUIRE(!opt.weights.empty()) << "test needs --weights (a .caffemodel to score)";
  UseGpuFlag(opt.gpu);
  REQUIRE(opt.iterations > 0) << "--iterations must be positive";
  SetNumThreads(opt.threads);
  std::vector<std::string> stages = SplitComma(opt.stage);
  Net<float> net(opt.model, ParsePhase(opt.phase), opt.level, &stages);
  for (const std::string& w : SplitComma(opt.weights)) net.CopyTrainedLayersFrom(w);
  LOG(INFO) << "Running for " << opt.iterations << " iterations.";
  std::vector<std::string> output_names;  // per score, as Caffe's tool logs them
  for (size_t j = 0; j < net.output_blobs().size(); ++j) {
    output_names.insert(output_names.end(), net.output_blobs()[j]->count(),
                        net.blob_names()[net.output_blob_indices()[j]]);
  }
  float loss = 0;
  // Caffe's per-batch lines, and every 5 s a progress line with an ETA.
  ProgressMeter progress("batches", static_cast<uint64_t>(opt.iterations), 5.0, "Scored");
  const std::vector<TestScore> scores = ScoreNet<float>(
      net, 0, opt.iterations, &loss, nullptr,
      [&output_names, &progress](int pass, int index, float value) {
        LOG(INFO) << "Batch " << pass << ", " << output_names[index] << " = " << value;
        if (index == 0) progress.Update(static_cast<uint64_t>(pass) + 1);
      });
  LOG(INFO) << "Loss: " << loss;
  for (const TestScore& score : scores) {
    std::ostringstream line;
    const float mean_score = static_cast<float>(score.value);
    const float loss_weight = static_cast<float>(score.loss_weight);
    line << score.name << " = " << mean_score;
    if (loss_weight) line << " (* " << loss_weight << " = " << loss_weight * mean_score << " loss)";
    LOG(INFO) << line.str();
    std::printf("%s\n", line.str().c_str());
  }
  return 0;
}
}  // namespace

Command AddTestCommand(CLI::App* app) {
  auto opt = std::make_shared<TestOptions>();
  app->add_option("--model", opt->model, "net prototxt");
  app->add_option("--weights", opt->weights, "comma-separated .caffemodel files");
  app->add_option("--iterations", opt->iterations, "forward passes (default 50)");
  app->add_option("--level", opt->level, "NetState level");
  app->add_option("--stage", opt->stage, "comma-separated NetState stages");
  app->add_option("--phase", opt->phase, "TRAIN or TEST (default TEST)");
  app->add_option("--gpu", opt->gpu, "the GPU to run on (one id; Caffe's flag)");
  app->add_option("--threads", opt->threads,
                  "threads of every step: layers, oneDNN and BLAS (default: all cores)");
  return [opt]() { return RunTest(*opt); };
}

}  // namespace tools
}  // namespace deepspark
