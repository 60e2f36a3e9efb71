#include "deepspark/common.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace deepspark {
namespace {
// DEEPSPARK_LOG_LEVEL, else glog's GLOG_minloglevel (what Caffe users set
// to quiet pycaffe and the tools), else INFO.
int InitialLogLevel() {
  for (const char* name : {"DEEPSPARK_LOG_LEVEL", "GLOG_minloglevel"}) {
    const char* env = std::getenv(name);
    if (env != nullptr && *env >= '0' && *env <= '3') return *env - '0';
  }
  return 0;
}
std::atomic<int> g_min_log_level{InitialLogLevel()};
}  // namespace

void SetMinLogLevel(int level) { g_min_log_level = level; }
int MinLogLevel() { return g_min_log_level; }

namespace internal {
LogMessage::LogMessage(const char* file, int line, LogSeverity severity) : severity_(severity) {
  static const char kLetters[] = "IWEF";
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm_buf;
  localtime_r(&t, &tm_buf);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/') base = p + 1;
  char prefix[64];
  std::snprintf(prefix, sizeof(prefix), "%c%02d%02d %02d:%02d:%02d.%06lld %s:%d] ",
                kLetters[static_cast<int>(severity)], tm_buf.tm_mon + 1, tm_buf.tm_mday,
                tm_buf.tm_hour, tm_buf.tm_min, tm_buf.tm_sec, static_cast<long long>(micros), base,
                line);
  stream_ << prefix;
}

LogMessage::~LogMessage() noexcept(false) {
  stream_ << '\n';
  std::string text = stream_.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  if (severity_ == LogSeverity::FATAL) std::abort();
}
}  // namespace internal
}  // namespace deepspark
