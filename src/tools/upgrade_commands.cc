// `deepspark upgrade-net-proto-text|upgrade-net-proto-binary|
// upgrade-solver-proto-text IN OUT`: Caffe's upgrade tools. The input is
// read as it is (a V0/V1 net, a solver with solver_type), upgraded with the
// rules every reader applies (upgrade_proto.hpp) and written in the current
// format (atomically). As Caffe's, a file already current is copied with a
// note, and an upgrade that fails is an error.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "deepspark/common.hpp"
#include "deepspark/io.hpp"
#include "deepspark/upgrade_proto.hpp"

namespace deepspark {
namespace tools {

namespace {
struct UpgradeOptions {
  std::string in, out;
};

std::shared_ptr<UpgradeOptions> AddInOut(CLI::App* app, const char* what) {
  auto opt = std::make_shared<UpgradeOptions>();
  app->add_option("input", opt->in, std::string("the ") + what + " to upgrade")->required();
  app->add_option("output", opt->out, "where the upgraded one is written")->required();
  return opt;
}

Command UpgradeNet(CLI::App* app, bool binary) {
  auto opt = AddInOut(app, binary ? "binary NetParameter (.caffemodel)" : "net prototxt");
  return [opt, binary]() {
    caffe::NetParameter net;
    if (binary) {
      ReadProtoFromBinaryFile(opt->in, &net);
    } else {
      ReadProtoFromTextFile(opt->in, &net);
    }
    if (!UpgradeNetAsNeeded(opt->in, &net)) {
      LOG(WARNING) << "File already in latest proto format: " << opt->in;
    }
    if (binary) {
      WriteProtoToBinaryFile(net, opt->out);
    } else {
      WriteProtoToTextFile(net, opt->out);
    }
    LOG(INFO) << "Wrote upgraded NetParameter " << (binary ? "binary" : "text") << " proto to "
              << opt->out;
    return 0;
  };
}
}  // namespace

Command AddUpgradeNetTextCommand(CLI::App* app) { return UpgradeNet(app, false); }
Command AddUpgradeNetBinaryCommand(CLI::App* app) { return UpgradeNet(app, true); }

Command AddUpgradeSolverTextCommand(CLI::App* app) {
  auto opt = AddInOut(app, "solver prototxt");
  return [opt]() {
    caffe::SolverParameter solver;
    ReadProtoFromTextFile(opt->in, &solver);
    if (!UpgradeSolverAsNeeded(opt->in, &solver)) {
      LOG(WARNING) << "File already in latest proto format: " << opt->in;
    }
    WriteProtoToTextFile(solver, opt->out);
    LOG(INFO) << "Wrote upgraded SolverParameter text proto to " << opt->out;
    return 0;
  };
}

}  // namespace tools
}  // namespace deepspark
