// A progress line with a rate and an estimated time left, for long commands
// (convert-imageset, convert-mnist, ...): "Processed 3000 of 60000 files
// (5.0%), 2410 files/s, ETA 24 s". Lines go to the log at INFO, at most one
// every `interval_s` seconds plus the last one.
// Thread safety: one meter belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace deepspark {

class ProgressMeter {
 public:
  // `what` names the unit in the line ("files", "iterations"); total 0
  // means unknown (no percentage, no ETA); `verb` starts the line.
  ProgressMeter(std::string what, uint64_t total, double interval_s = 5.0,
                std::string verb = "Processed");

  // Reports `done` units so far; logs when a line is due.
  void Update(uint64_t done);
  // Logs the final line (always).
  void Finish(uint64_t done);

  // The line for `done` units after `seconds` (exposed for tests).
  std::string Line(uint64_t done, double seconds) const;

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, verb_;
  uint64_t total_;
  double interval_s_;
  Clock::time_point start_, last_;
};

// "42 s", "3 min 20 s", "1 h 05 min".
std::string FormatDuration(double seconds);

}  // namespace deepspark
