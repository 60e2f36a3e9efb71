#include "deepspark/progress.hpp"

#include <cmath>
#include <cstdio>

#include "deepspark/common.hpp"

namespace deepspark {

std::string FormatDuration(double seconds) {
  char buffer[64];
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60) {
    std::snprintf(buffer, sizeof(buffer), "%ld s", s);
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%ld min %02ld s", s / 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  }
  return buffer;
}

ProgressMeter::ProgressMeter(std::string what, uint64_t total, double interval_s, std::string verb)
    : what_(std::move(what)),
      verb_(std::move(verb)),
      total_(total),
      interval_s_(interval_s),
      start_(Clock::now()),
      last_(start_) {}

std::string ProgressMeter::Line(uint64_t done, double seconds) const {
  std::string line = verb_ + " " + std::to_string(done);
  if (total_ > 0) line += " of " + std::to_string(total_);
  line += " " + what_;
  char buffer[96];
  if (total_ > 0) {
    std::snprintf(buffer, sizeof(buffer), " (%.1f%%)", 100.0 * done / total_);
    line += buffer;
  }
  if (seconds > 0 && done > 0) {
    const double rate = done / seconds;
    std::snprintf(buffer, sizeof(buffer), ", %.0f %s/s", rate, what_.c_str());
    line += buffer;
    if (total_ > done) line += ", ETA " + FormatDuration((total_ - done) / rate);
  }
  return line;
}

void ProgressMeter::Update(uint64_t done) {
  const Clock::time_point now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
  last_ = now;
  LOG(INFO) << Line(done, std::chrono::duration<double>(now - start_).count());
}

void ProgressMeter::Finish(uint64_t done) {
  LOG(INFO) << Line(done, std::chrono::duration<double>(Clock::now() - start_).count());
}

}  // namespace deepspark
