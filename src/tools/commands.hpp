// The subcommands of `deepspark`. Each registers its options on a CLI11 app
// and returns the function that runs it (exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace deepspark {
namespace tools {

using Command = std::function<int()>;

Command AddTrainCommand(CLI::App* app);
Command AddTestCommand(CLI::App* app);
Command AddTimeCommand(CLI::App* app);
Command AddConvertMnistCommand(CLI::App* app);
Command AddComputeImageMeanCommand(CLI::App* app);
Command AddConvertImagesetCommand(CLI::App* app);
Command AddUpgradeNetTextCommand(CLI::App* app);
Command AddUpgradeNetBinaryCommand(CLI::App* app);
Command AddUpgradeSolverTextCommand(CLI::App* app);
Command AddExtractFeaturesCommand(CLI::App* app);
Command AddServerCommand(CLI::App* app);
Command AddWorkerCommand(CLI::App* app);
Command AddShardServerCommand(CLI::App* app);
Command AddReportCommand(CLI::App* app);
Command AddInspectCommand(CLI::App* app);

}  // namespace tools
}  // namespace deepspark
