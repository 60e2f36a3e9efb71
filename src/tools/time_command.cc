// `deepspark time`: Caffe's `caffe time`: one warm-up forward/backward, then
// --iterations timed passes, layer by layer, printed as Caffe prints them.
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/net.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {
namespace tools {

namespace {
struct TimeOptions {
  std::string model;
  int iterations = 50;
  int level = 0;
  std::string stage;
  std::string phase = "TRAIN";
  std::string gpu;
  int threads = 0;
};

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Waits for the GPU's queued work (a no-op on the CPU). Kernels run
// asynchronously on the default stream, and a synchronous device-to-host
// copy waits for everything queued before it; so each pass's time is the
// device's, not only the host's launches, as Caffe's CUDA-event timers give.
// The layers inside a pass are not fenced (a fence per layer would add its
// wait to every layer), so on the GPU the per-layer times are launch times
// for layers with GPU code.
class GpuFence {
 public:
  GpuFence() {
    if (CurrentComputeMode() != ComputeMode::kGpu) return;
    probe_ = Gpu().Malloc(sizeof(float));
    Gpu().Memset(probe_, 0, sizeof(float));
  }
  ~GpuFence() {
    if (probe_) Gpu().Free(probe_);
  }
  GpuFence(const GpuFence&) = delete;
  GpuFence& operator=(const GpuFence&) = delete;
  void Wait() {
    float value;
    if (probe_) Gpu().Memcpy(&value, probe_, sizeof(value), GpuRuntime::Copy::kDeviceToHost);
  }

 private:
  void* probe_ = nullptr;
};

int RunTime(const TimeOptions& opt) {
  REQUIRE(!opt.model.empty()) << "time needs --model";
  UseGpuFlag(opt.gpu);
  REQUIRE(opt.iterations > 0) << "--iterations must be positive";
  SetNumThreads(opt.threads);
  std::vector<std::string> stages = SplitComma(opt.stage);
  Net<float> net(opt.model, ParsePhase(opt.phase), opt.level, &stages);
  LOG(INFO) << "Performing Forward";
  float initial_loss;
  net.Forward(&initial_loss);
  LOG(INFO) << "Initial loss: " << initial_loss;
  LOG(INFO) << "Performing Backward";
  net.Backward();

  const auto& layers = net.layers();
  const auto& bottom_vecs = net.bottom_vecs();
  const auto& top_vecs = net.top_vecs();
  const auto& bottom_need_backward = net.bottom_need_backward();
  const size_t n = layers.size();
  std::vector<double> forward_time_per_layer(n, 0.0);
  std::vector<double> backward_time_per_layer(n, 0.0);
  double forward_time = 0.0, backward_time = 0.0;
  // The multiply-add work of the step (convolution and inner product, the
  // layers a roofline is about): 2 * outputs * inputs per output for the
  // forward pass, as much again for the weight gradient and for the data
  // gradient where one is needed. A Deconvolution's roles are swapped.
  double forward_flop = 0, step_flop = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string type = layers[i]->type();
    if (type != "Convolution" && type != "Deconvolution" && type != "InnerProduct") continue;
    if (layers[i]->blobs().empty() || top_vecs[i].empty()) continue;
    const Blob<float>* out = type == "Deconvolution" ? bottom_vecs[i][0] : top_vecs[i][0];
    const Blob<float>& w = *layers[i]->blobs()[0];
    const int axis = type == "InnerProduct" ? layers[i]->layer_param().inner_product_param().axis()
                                            : layers[i]->layer_param().convolution_param().axis();
    const double f = 2.0 * top_vecs[i].size() * out->count() * w.count() / out->shape(axis);
    forward_flop += f;
    step_flop += 2 * f + (bottom_need_backward[i][0] ? f : 0);
  }
  LOG(INFO) << "*** Benchmark begins ***";
  LOG(INFO) << "Testing for " << opt.iterations << " iterations.";
  GpuFence fence;
  fence.Wait();
  auto total_start = Clock::now();
  for (int j = 0; j < opt.iterations; ++j) {
    auto iter_start = Clock::now();
    auto pass_start = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      auto t = Clock::now();
      layers[i]->Forward(bottom_vecs[i], top_vecs[i]);
      forward_time_per_layer[i] += MsSince(t);
    }
    fence.Wait();
    forward_time += MsSince(pass_start);
    pass_start = Clock::now();
    for (int i = static_cast<int>(n) - 1; i >= 0; --i) {
      auto t = Clock::now();
      layers[i]->Backward(top_vecs[i], bottom_need_backward[i], bottom_vecs[i]);
      backward_time_per_layer[i] += MsSince(t);
    }
    fence.Wait();
    backward_time += MsSince(pass_start);
    LOG(INFO) << "Iteration: " << j + 1 << " forward-backward time: " << MsSince(iter_start)
              << " ms.";
  }
  LOG(INFO) << "Average time per layer: ";
  for (size_t i = 0; i < n; ++i) {
    char line[256];
    std::snprintf(line, sizeof(line), "%10s\tforward: %g ms.",
                  layers[i]->layer_param().name().c_str(),
                  forward_time_per_layer[i] / opt.iterations);
    LOG(INFO) << line;
    std::snprintf(line, sizeof(line), "%10s\tbackward: %g ms.",
                  layers[i]->layer_param().name().c_str(),
                  backward_time_per_layer[i] / opt.iterations);
    LOG(INFO) << line;
  }
  const double total = MsSince(total_start);
  LOG(INFO) << "Average Forward pass: " << forward_time / opt.iterations << " ms.";
  LOG(INFO) << "Average Backward pass: " << backward_time / opt.iterations << " ms.";
  LOG(INFO) << "Average Forward-Backward: " << total / opt.iterations << " ms.";
  LOG(INFO) << "Total Time: " << total << " ms.";
  LOG(INFO) << "*** Benchmark ends ***";
  std::printf("forward_ms=%.4f backward_ms=%.4f forward_backward_ms=%.4f\n",
              forward_time / opt.iterations, backward_time / opt.iterations,
              total / opt.iterations);
  // GEMM-like work and its rate, for comparing with the machine's sgemm rate.
  std::printf("forward_gflop=%.4f step_gflop=%.4f step_gflops_per_s=%.2f\n", forward_flop / 1e9,
              step_flop / 1e9, step_flop / 1e6 / (total / opt.iterations));
  return 0;
}
}  // namespace

Command AddTimeCommand(CLI::App* app) {
  auto opt = std::make_shared<TimeOptions>();
  app->add_option("--model", opt->model, "net prototxt");
  app->add_option("--iterations", opt->iterations, "timed passes (default 50)");
  app->add_option("--level", opt->level, "NetState level");
  app->add_option("--stage", opt->stage, "comma-separated NetState stages");
  app->add_option("--phase", opt->phase, "TRAIN (default) or TEST");
  app->add_option("--gpu", opt->gpu, "the GPU to run on (one id; Caffe's flag)");
  app->add_option("--threads", opt->threads,
                  "threads of every step: layers, oneDNN and BLAS (default: all cores)");
  return [opt]() { return RunTime(*opt); };
}

}  // namespace tools
}  // namespace deepspark
