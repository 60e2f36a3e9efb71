// The subcommands of `deepspark`. Each registers its options on a CLI11 app
// and returns the function that runs it (exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

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
Command AddDeviceQueryCommand(CLI::App* app);

// Parses argv (argv[0] is the program name) and runs the command; returns the
// exit code. A user's error is printed to stderr, never thrown.
int RunCommandLine(int argc, char** argv);

// The `deepspark` binary, which distributed roles start as processes: this
// process's own executable unless set (the Python package sets its bundled
// binary, as its process is python's).
void SetToolExecutable(const std::string& path);
std::string ToolExecutable();

}  // namespace tools
}  // namespace deepspark
