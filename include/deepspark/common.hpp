// Common definitions: errors users can cause (deepspark::Error), CHECK-style
// aborts for internal invariants, and a small glog-like logger.
//
// Thread safety: logging is safe from any thread (one write per message).
#pragma once

#include <cstdint>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepspark {

// An error a user can cause (bad file, bad prototxt, bad shapes in a net
// definition, network trouble). The message names the file/line/field or the
// layer/blob at fault. Tools catch it, print it and exit non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

enum class LogSeverity { INFO = 0, WARNING = 1, ERROR = 2, FATAL = 3 };

// Messages below this severity are dropped. Default INFO; DEEPSPARK_LOG_LEVEL
// (0..3) in the environment overrides it, else glog's GLOG_minloglevel.
void SetMinLogLevel(int level);
int MinLogLevel();

namespace internal {
class LogMessage {
 public:
  LogMessage(const char* file, int line, LogSeverity severity);
  ~LogMessage() noexcept(false);
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

// Swallows a stream expression when a log line is disabled.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace deepspark

#define DS_LOG_INFO ::deepspark::LogSeverity::INFO
#define DS_LOG_WARNING ::deepspark::LogSeverity::WARNING
#define DS_LOG_ERROR ::deepspark::LogSeverity::ERROR
#define DS_LOG_FATAL ::deepspark::LogSeverity::FATAL

#define LOG(severity)                                               \
  !(static_cast<int>(DS_LOG_##severity) >= ::deepspark::MinLogLevel()) \
      ? (void)0                                                     \
      : ::deepspark::internal::LogVoidify() &                       \
            ::deepspark::internal::LogMessage(__FILE__, __LINE__, DS_LOG_##severity).stream()

#define LOG_IF(severity, cond) \
  !(cond) ? (void)0 : ::deepspark::internal::LogVoidify() & LOG_STREAM_##severity
#define LOG_STREAM_INFO \
  ::deepspark::internal::LogMessage(__FILE__, __LINE__, DS_LOG_INFO).stream()
#define LOG_STREAM_WARNING \
  ::deepspark::internal::LogMessage(__FILE__, __LINE__, DS_LOG_WARNING).stream()

// Internal invariants: abort with the failed condition. Never use these for
// errors a user can cause; throw deepspark::Error instead.
#define CHECK(cond)                                                        \
  (cond) ? (void)0                                                         \
         : ::deepspark::internal::LogVoidify() &                           \
               ::deepspark::internal::LogMessage(__FILE__, __LINE__, DS_LOG_FATAL) \
                       .stream()                                           \
                   << "Check failed: " #cond " "
#define DS_CHECK_OP(a, b, op)                                                      \
  ((a)op(b)) ? (void)0                                                             \
             : ::deepspark::internal::LogVoidify() &                               \
                   ::deepspark::internal::LogMessage(__FILE__, __LINE__, DS_LOG_FATAL) \
                           .stream()                                               \
                       << "Check failed: " #a " " #op " " #b " (" << (a) << " vs. " \
                       << (b) << ") "
#define CHECK_EQ(a, b) DS_CHECK_OP(a, b, ==)
#define CHECK_NE(a, b) DS_CHECK_OP(a, b, !=)
#define CHECK_LT(a, b) DS_CHECK_OP(a, b, <)
#define CHECK_LE(a, b) DS_CHECK_OP(a, b, <=)
#define CHECK_GT(a, b) DS_CHECK_OP(a, b, >)
#define CHECK_GE(a, b) DS_CHECK_OP(a, b, >=)
#define CHECK_NOTNULL(p) (CHECK((p) != nullptr), (p))

#ifdef NDEBUG
#define DCHECK(cond) \
  while (false) CHECK(cond)
#else
#define DCHECK(cond) CHECK(cond)
#endif

// Throws deepspark::Error with a message built by streaming. Use for errors
// users can cause: THROW_ERROR() << "layer " << name << ": bad kernel_size";
#define THROW_ERROR() ::deepspark::internal::ErrorBuilder()
// Throws when cond is false, with "what" streamed after it.
#define REQUIRE(cond) \
  (cond) ? (void)0 : ::deepspark::internal::ErrorThrower() & ::deepspark::internal::ErrorBuilder()

namespace deepspark {
namespace internal {
class ErrorBuilder {
 public:
  ErrorBuilder() = default;
  ErrorBuilder(const ErrorBuilder&) = delete;
  // Throws when the full expression ends.
  ~ErrorBuilder() noexcept(false) {
    if (std::uncaught_exceptions() == 0) throw Error(stream_.str());
  }
  template <typename T>
  ErrorBuilder& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};
struct ErrorThrower {
  void operator&(ErrorBuilder&) {}
};
}  // namespace internal

// Instantiates a class template for the two element types every layer and
// solver supports.
#define INSTANTIATE_CLASS(classname) \
  template class classname<float>;   \
  template class classname<double>

// Disallows copy and assignment.
#define DISABLE_COPY_AND_ASSIGN(classname) \
  classname(const classname&) = delete;    \
  classname& operator=(const classname&) = delete



}  // namespace deepspark
