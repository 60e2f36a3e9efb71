// Helpers shared by the tests: typed test lists and paths to fixtures.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "deepspark/common.hpp"

namespace deepspark {

using TestDtypes = ::testing::Types<float, double>;

// Root of the source tree.
inline std::string SourceDir() { return DEEPSPARK_SOURCE_DIR; }
// The fixtures (caffe-zoo, datasets): DEEPSPARK_SHARED_DIR, else ../shared
// next to the checkout, else /work/shared (a clone elsewhere, as CI makes).
// scripts/shared-dir.sh applies the same rule.
inline std::string SharedDir() {
  const char* env = std::getenv("DEEPSPARK_SHARED_DIR");
  if (env && *env) return env;
  const std::string beside = SourceDir() + "/../shared";
  struct stat st;
  return stat(beside.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? beside : "/work/shared";
}
inline std::string CaffeZooDir() { return SharedDir() + "/caffe-zoo"; }
// The deepspark binary: DEEPSPARK_TOOL_PATH from the environment (a test
// binary run away from its build tree: scripts/gpu-check.sh's bundle), else
// the build's.
inline std::string ToolPath() {
  const char* env = std::getenv("DEEPSPARK_TOOL_PATH");
  return env && *env ? env : DEEPSPARK_TOOL_PATH;
}

// Runs fn in a child process, so that a crash (a SIGBUS, an abort) fails
// the test instead of ending the test binary. Returns the message of the
// deepspark::Error fn threw; fails the test on anything else.
inline std::string ErrorInChild(const std::function<void()>& fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string message = "no error";
    int code = 1;
    try {
      fn();
    } catch (const Error& e) {
      message = e.what();
      code = 0;
    } catch (const std::exception& e) {
      message = std::string("not a deepspark::Error: ") + e.what();
    }
    ssize_t written = write(fds[1], message.data(), message.size());
    _exit(written == static_cast<ssize_t>(message.size()) ? code : 1);
  }
  close(fds[1]);
  std::string message;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) > 0;) message.append(buffer, n);
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) {
    ADD_FAILURE() << "killed by signal " << WTERMSIG(status) << " (" << strsignal(WTERMSIG(status))
                  << ")";
  } else {
    EXPECT_EQ(WEXITSTATUS(status), 0) << message;
  }
  return message;
}

}  // namespace deepspark
