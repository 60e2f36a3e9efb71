// `deepspark`'s command line (train, test, time, converters) plus the
// distributed roles, run by the binary's main (main.cc) and by the Python
// package's `python3 -m deepspark`. Caffe's single-dash flag spellings are
// accepted.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <stdexcept>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/common.hpp"
#include "deepspark/engine.hpp"

namespace deepspark {
namespace tools {
namespace {
std::string& ToolExecutableOverride() {
  static auto* path = new std::string;
  return *path;
}
}  // namespace

void SetToolExecutable(const std::string& path) { ToolExecutableOverride() = path; }

std::string ToolExecutable() {
  if (!ToolExecutableOverride().empty()) return ToolExecutableOverride();
  char buffer[4096];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  CHECK_GT(n, 0);
  buffer[n] = 0;
  return buffer;
}

int RunCommandLine(int argc, char** argv) {
  CLI::App app{
      "DeepSpark: train Caffe models, on one machine or many.\n"
      "Commands follow Caffe's `caffe` tool; run `deepspark COMMAND --help`."};
  app.require_subcommand(1);
  std::map<CLI::App*, Command> commands;
  std::string engine;
  auto add = [&](const char* name, const char* help, Command (*fn)(CLI::App*)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands[sub] = fn(sub);
    return sub;
  };
  // Commands that run nets take --engine (deepspark/engine.hpp).
  auto with_engine = [&](CLI::App* sub) {
    sub->add_option("--engine", engine,
                    "caffe (Caffe's CPU code) or dnnl (oneDNN, the default) for layers whose "
                    "engine field is DEFAULT");
  };
  with_engine(add("train", "train or finetune a model (solver prototxt)", AddTrainCommand));
  with_engine(add("test", "score a model: forward passes in TEST phase", AddTestCommand));
  with_engine(add("time", "benchmark forward and backward, layer by layer", AddTimeCommand));
  add("convert-mnist", "MNIST IDX files to an LMDB/LevelDB of Datum", AddConvertMnistCommand);
  add("compute-image-mean", "mean image of a Datum database as .binaryproto",
      AddComputeImageMeanCommand);
  add("convert-imageset", "a folder of images and a list file to a Datum database",
      AddConvertImagesetCommand);
  with_engine(add("extract-features", "a net's blobs for each item, to Datum databases",
                  AddExtractFeaturesCommand));
  add("upgrade-net-proto-text", "an old-format net prototxt to the current format",
      AddUpgradeNetTextCommand);
  add("upgrade-net-proto-binary", "an old-format binary net (.caffemodel) to the current format",
      AddUpgradeNetBinaryCommand);
  add("upgrade-solver-proto-text", "an old-format solver prototxt to the current format",
      AddUpgradeSolverTextCommand);
  with_engine(
      add("server", "run a parameter server for N workers (any launcher)", AddServerCommand));
  with_engine(add("worker", "run one worker against a server", AddWorkerCommand));
  add("shard-server", "hold part of a server's center (server --shard-servers M)",
      AddShardServerCommand);
  add("report", "PNG plots and an HTML page of a run's metrics or log", AddReportCommand);
  add("inspect", "each layer's top shapes, parameters, forward FLOPs and memory",
      AddInspectCommand);
  add("device-query", "the properties of the GPUs (Caffe's device_query)", AddDeviceQueryCommand)
      ->alias("device_query");

  std::vector<std::string> args = NormalizeCaffeFlags(argc, argv);
  std::vector<char*> arg_ptrs;
  for (auto& a : args) arg_ptrs.push_back(a.data());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  int code = 1;
  try {
    if (!engine.empty()) {
      deepspark::SetDefaultEngine(deepspark::ParseEngine(engine));
      // Worker processes started by this one (train --workers) inherit it.
      setenv("DEEPSPARK_ENGINE", engine.c_str(), 1);
    }
    for (auto& entry : commands) {
      if (entry.first->parsed()) code = entry.second();
    }
  } catch (const deepspark::Error& e) {
    std::fprintf(stderr, "deepspark: error: %s\n", e.what());
    code = 1;
  } catch (const std::bad_alloc&) {
    // Sizes come from files and peers: one too large for this machine is the
    // input's fault, said as such, not an abort.
    std::fprintf(stderr,
                 "deepspark: error: out of memory (an input asked for more than this machine "
                 "has; check the shapes and sizes in the files given)\n");
    code = 1;
  } catch (const std::length_error& e) {
    std::fprintf(stderr, "deepspark: error: a size out of range (%s); check the inputs\n",
                 e.what());
    code = 1;
  } catch (const std::exception& e) {
    // Anything else a library throws (oneDNN, protobuf, the standard
    // library): a message and exit 1, never an abort.
    std::fprintf(stderr, "deepspark: error: %s\n", e.what());
    code = 1;
  }
  return code;
}

}  // namespace tools
}  // namespace deepspark
