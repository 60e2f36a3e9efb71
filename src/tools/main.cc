// `deepspark`: Caffe's command line (train, test, time, converters) plus the
// distributed roles. Caffe's single-dash flag spellings are accepted.
#include <CLI/CLI.hpp>
#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <map>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/common.hpp"

int main(int argc, char** argv) {
  using namespace deepspark::tools;
  CLI::App app{"DeepSpark: train Caffe models, on one machine or many.\n"
               "Commands follow Caffe's `caffe` tool; run `deepspark COMMAND --help`."};
  app.require_subcommand(1);
  std::map<CLI::App*, Command> commands;
  auto add = [&](const char* name, const char* help, Command (*fn)(CLI::App*)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands[sub] = fn(sub);
  };
  add("train", "train or finetune a model (solver prototxt)", AddTrainCommand);
  add("test", "score a model: forward passes in TEST phase", AddTestCommand);
  add("time", "benchmark forward and backward, layer by layer", AddTimeCommand);
  add("convert-mnist", "MNIST IDX files to an LMDB/LevelDB of Datum", AddConvertMnistCommand);
  add("compute-image-mean", "mean image of a Datum database as .binaryproto",
      AddComputeImageMeanCommand);
  add("server", "run a parameter server for N workers (any launcher)", AddServerCommand);
  add("worker", "run one worker against a server", AddWorkerCommand);

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
    for (auto& entry : commands) {
      if (entry.first->parsed()) code = entry.second();
    }
  } catch (const deepspark::Error& e) {
    std::fprintf(stderr, "deepspark: error: %s\n", e.what());
    code = 1;
  }
  google::protobuf::ShutdownProtobufLibrary();
  return code;
}
