// `deepspark report RUN [--out DIR]`: PNG plots and an HTML page of a run.
// The plotting is Python's (python/deepspark/report.py, matplotlib): this
// command finds that module beside the tool and runs it with the Python the
// package was built for, passing its exit code on.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "deepspark/common.hpp"

extern char** environ;

namespace deepspark {
namespace tools {

namespace {
struct ReportOptions {
  std::string run;
  std::string out;
};

bool IsFile(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string ToolDir() {
  const std::string path = ToolExecutable();
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Where report.py may be: the installed package (deepspark/bin/deepspark
// beside deepspark/report.py), the build tree (build/deepspark beside
// build/python/deepspark/), the source tree this tool was built from.
std::vector<std::string> ReportScriptCandidates() {
  const std::string dir = ToolDir();
  std::vector<std::string> paths = {dir + "/../report.py", dir + "/python/deepspark/report.py"};
#ifdef DEEPSPARK_SOURCE_DIR
  paths.push_back(std::string(DEEPSPARK_SOURCE_DIR) + "/python/deepspark/report.py");
#endif
  return paths;
}

// DEEPSPARK_PYTHON, else the interpreter the package was built for, else
// python3 on the PATH.
std::string PythonInterpreter() {
  const char* env = std::getenv("DEEPSPARK_PYTHON");
  if (env && *env) return env;
#ifdef DEEPSPARK_PYTHON_EXECUTABLE
  if (access(DEEPSPARK_PYTHON_EXECUTABLE, X_OK) == 0) return DEEPSPARK_PYTHON_EXECUTABLE;
#endif
  return "python3";
}

// Loads report.py by its path (not as `import deepspark`, which needs the
// compiled extension) and runs its main() on the rest of the arguments.
const char kLoader[] =
    "import importlib.util as u, sys\n"
    "if sys.path and sys.path[0] == '': sys.path.pop(0)\n"
    "path = sys.argv.pop(1)\n"
    "spec = u.spec_from_file_location('deepspark_report', path)\n"
    "module = u.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module.main(sys.argv[1:]))\n";

int RunReport(const ReportOptions& opt) {
  REQUIRE(!opt.run.empty()) << "report needs RUN (a metrics .jsonl, a training log or a folder)";
  std::string script;
  std::string looked;
  for (const std::string& candidate : ReportScriptCandidates()) {
    if (IsFile(candidate)) {
      script = candidate;
      break;
    }
    looked += (looked.empty() ? "" : ", ") + candidate;
  }
  REQUIRE(!script.empty()) << "report needs the Python module deepspark/report.py, not found "
                              "(looked for "
                           << looked << "); install the package (pip install .) or build with "
                           << "-DDEEPSPARK_BUILD_PYTHON=ON";
  const std::string python = PythonInterpreter();
  std::vector<std::string> args = {python, "-c", kLoader, script, opt.run};
  if (!opt.out.empty()) {
    args.push_back("--out");
    args.push_back(opt.out);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ);
  REQUIRE(err == 0) << "report runs " << script << " with Python 3 and matplotlib, but cannot "
                    << "start the Python interpreter '" << python << "': " << std::strerror(err)
                    << " (set DEEPSPARK_PYTHON to a python3 that has matplotlib)";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    REQUIRE(errno == EINTR) << "report: waiting for " << python << ": " << std::strerror(errno);
  }
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "deepspark: error: report: %s was killed by signal %d\n", python.c_str(),
                 WTERMSIG(status));
    return 1;
  }
  return WEXITSTATUS(status);
}
}  // namespace

Command AddReportCommand(CLI::App* app) {
  auto opt = std::make_shared<ReportOptions>();
  app->add_option("run", opt->run,
                  "a run's PREFIX_metrics.jsonl, a Caffe-format training log, or a folder "
                  "holding one")
      ->required();
  app->add_option("--out", opt->out, "output folder (default: RUN's folder/report)");
  return [opt]() { return RunReport(*opt); };
}

}  // namespace tools
}  // namespace deepspark
