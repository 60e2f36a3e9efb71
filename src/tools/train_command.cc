// `deepspark train`: Caffe's `caffe train`: read and upgrade the solver,
// apply --level/--stage to the train state, finetune from --weights or
// resume from --snapshot, then Solve. SIGINT/SIGHUP act as in Caffe.
#include <memory>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/io.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/signal_handler.hpp"
#include "deepspark/solver_factory.hpp"
#include "distributed_commands.hpp"

namespace deepspark {
namespace tools {

namespace {
struct TrainOptions {
  std::string solver;
  std::string weights;
  std::string snapshot;
  int level = 0;
  std::string stage;
  std::string gpu;
  std::string sigint_effect = "stop";
  std::string sighup_effect = "snapshot";
  int threads = 0;
  DistOptions dist;
};

int RunTrain(const TrainOptions& opt) {
  REQUIRE(!opt.solver.empty()) << "train needs --solver (a solver prototxt)";
  REQUIRE(opt.weights.empty() || opt.snapshot.empty())
      << "give --snapshot to resume training or --weights to finetune, not both";
  SetNumThreads(opt.threads);
  if (opt.dist.workers > 0) {
    REQUIRE(opt.snapshot.empty())
        << "--snapshot with --workers: resume a distributed job with `deepspark server "
           "--snapshot=PREFIX_iter_N.serverstate`";
    DistOptions dist = opt.dist;
    dist.threads = opt.threads;
    dist.gpu = opt.gpu;  // worker i takes GPU ids[i mod count]
    return RunLocalJob(opt.solver, opt.weights, dist);
  }
  const bool on_gpu = UseGpuFlag(opt.gpu);
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(opt.solver, &param);
  param.mutable_train_state()->set_level(opt.level);
  for (const std::string& stage : SplitComma(opt.stage)) {
    param.mutable_train_state()->add_stage(stage);
  }
  if (!on_gpu && param.solver_mode() == caffe::SolverParameter::GPU) {
    // As Caffe: the solver's device_id unless --gpu said otherwise. Without
    // a device, said once and trained on the CPU (a solver written for a
    // GPU machine still runs here).
    std::string why;
    const int count = Gpu().DeviceCount(&why);
    if (count > static_cast<int>(param.device_id())) {
      UseGpu(static_cast<int>(param.device_id()));
    } else {
      LOG(WARNING) << opt.solver << ": solver_mode is GPU (device_id " << param.device_id()
                   << ") but there is no such GPU ("
                   << (count > 0 ? std::to_string(count) + " GPU(s) here" : why)
                   << "); training on the CPU";
    }
  }
  if (!opt.weights.empty()) {
    param.clear_weights();
    for (const std::string& w : SplitComma(opt.weights)) param.add_weights(w);
  }
  SignalHandler signal_handler(ParseSolverAction(opt.sigint_effect),
                               ParseSolverAction(opt.sighup_effect));
  std::unique_ptr<Solver<float>> solver = CreateSolver<float>(param);
  solver->SetActionFunction(signal_handler.GetActionFunction());
  LOG(INFO) << "Starting Optimization";
  solver->Solve(opt.snapshot);
  return 0;
}
}  // namespace

Command AddTrainCommand(CLI::App* app) {
  auto opt = std::make_shared<TrainOptions>();
  app->add_option("--solver", opt->solver, "solver prototxt");
  app->add_option("--weights", opt->weights, "comma-separated .caffemodel files to finetune from");
  app->add_option("--snapshot", opt->snapshot, ".solverstate to resume from");
  app->add_option("--level", opt->level, "NetState level of the train net");
  app->add_option("--stage", opt->stage, "comma-separated NetState stages of the train net");
  app->add_option("--gpu", opt->gpu,
                  "the GPU to train on (one id; Caffe's flag; overrides solver_mode/device_id); "
                  "with --workers: N, a,b or all, worker i on ids[i mod count]");
  app->add_option("--sigint_effect", opt->sigint_effect, "stop (default), snapshot or none");
  app->add_option("--sighup_effect", opt->sighup_effect, "snapshot (default), stop or none");
  app->add_option("--threads", opt->threads,
                  "threads of every step: layers, oneDNN and BLAS (default: all cores)");
  AddDistOptions(app, &opt->dist, true);
  return [opt]() { return RunTrain(*opt); };
}

}  // namespace tools
}  // namespace deepspark
