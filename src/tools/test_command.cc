// `deepspark test`: Caffe's `caffe test`: build the net in TEST phase, load
// weights, run --iterations forward passes and report the mean of each
// output blob element (and the weighted loss).
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/net.hpp"
#include "deepspark/parallel.hpp"

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
  REQUIRE(opt.gpu.empty()) << "--gpu: this build runs on the CPU only";
  REQUIRE(opt.iterations > 0) << "--iterations must be positive";
  SetNumThreads(opt.threads);
  std::vector<std::string> stages = SplitComma(opt.stage);
  Net<float> net(opt.model, ParsePhase(opt.phase), opt.level, &stages);
  for (const std::string& w : SplitComma(opt.weights)) net.CopyTrainedLayersFrom(w);
  LOG(INFO) << "Running for " << opt.iterations << " iterations.";
  std::vector<int> test_score_output_id;
  std::vector<float> test_score;
  float loss = 0;
  for (int i = 0; i < opt.iterations; ++i) {
    float iter_loss;
    const std::vector<Blob<float>*>& result = net.Forward(&iter_loss);
    loss += iter_loss;
    int idx = 0;
    for (size_t j = 0; j < result.size(); ++j) {
      const float* result_vec = result[j]->cpu_data();
      for (int k = 0; k < result[j]->count(); ++k, ++idx) {
        const float score = result_vec[k];
        if (i == 0) {
          test_score.push_back(score);
          test_score_output_id.push_back(static_cast<int>(j));
        } else {
          test_score[idx] += score;
        }
        const std::string& output_name = net.blob_names()[net.output_blob_indices()[j]];
        LOG(INFO) << "Batch " << i << ", " << output_name << " = " << score;
      }
    }
  }
  loss /= opt.iterations;
  LOG(INFO) << "Loss: " << loss;
  for (size_t i = 0; i < test_score.size(); ++i) {
    const int blob_index = net.output_blob_indices()[test_score_output_id[i]];
    const std::string& output_name = net.blob_names()[blob_index];
    const float loss_weight = net.blob_loss_weights()[blob_index];
    const float mean_score = test_score[i] / opt.iterations;
    char line[256];
    if (loss_weight) {
      std::snprintf(line, sizeof(line), "%s = %g (* %g = %g loss)", output_name.c_str(),
                    mean_score, loss_weight, loss_weight * mean_score);
    } else {
      std::snprintf(line, sizeof(line), "%s = %g", output_name.c_str(), mean_score);
    }
    LOG(INFO) << line;
    std::printf("%s\n", line);
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
  app->add_option("--gpu", opt->gpu, "GPU ids (not in this build)");
  app->add_option("--threads", opt->threads, "threads of every step: layers, oneDNN and BLAS (default: all cores)");
  return [opt]() { return RunTest(*opt); };
}

}  // namespace tools
}  // namespace deepspark
