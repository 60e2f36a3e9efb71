// SignalHandler: SIGINT/SIGHUP set atomic flags that the solver polls.
#include "deepspark/signal_handler.hpp"

#include <atomic>
#include <csignal>

#include "deepspark/common.hpp"

namespace deepspark {

namespace {
std::atomic<bool> g_got_sigint{false};
std::atomic<bool> g_got_sighup{false};
std::atomic<bool> g_installed{false};
struct sigaction g_old_sigint;
struct sigaction g_old_sighup;

// Only async-signal-safe work here: set a lock-free flag.
void HandleSignal(int signal) {
  if (signal == SIGHUP) g_got_sighup = true;
  if (signal == SIGINT) g_got_sigint = true;
}
}  // namespace

SolverAction ParseSolverAction(const std::string& effect) {
  if (effect == "stop") return SolverAction::STOP;
  if (effect == "snapshot") return SolverAction::SNAPSHOT;
  if (effect == "none") return SolverAction::NONE;
  THROW_ERROR() << "Invalid signal effect '" << effect << "' (use stop, snapshot or none)";
  return SolverAction::NONE;
}

SignalHandler::SignalHandler(SolverAction sigint_action, SolverAction sighup_action)
    : sigint_action_(sigint_action), sighup_action_(sighup_action) {
  CHECK(!g_installed.exchange(true)) << "only one SignalHandler may exist at a time";
  g_got_sigint = false;
  g_got_sighup = false;
  struct sigaction action = {};
  action.sa_handler = &HandleSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted reads resume
  CHECK(sigaction(SIGINT, &action, &g_old_sigint) == 0) << "cannot install the SIGINT handler";
  CHECK(sigaction(SIGHUP, &action, &g_old_sighup) == 0) << "cannot install the SIGHUP handler";
}

SignalHandler::~SignalHandler() {
  sigaction(SIGINT, &g_old_sigint, nullptr);
  sigaction(SIGHUP, &g_old_sighup, nullptr);
  g_installed = false;
}

namespace {
SolverAction PollSignals(SolverAction sigint_action, SolverAction sighup_action) {
  if (g_got_sighup.exchange(false)) return sighup_action;
  if (g_got_sigint.exchange(false)) return sigint_action;
  return SolverAction::NONE;
}
}  // namespace

SolverAction SignalHandler::CheckForSignals() const {
  return PollSignals(sigint_action_, sighup_action_);
}

ActionCallback SignalHandler::GetActionFunction() {
  // Captures the actions by value: the function stays valid (and reports
  // nothing new) after the handler is gone.
  const SolverAction sigint_action = sigint_action_, sighup_action = sighup_action_;
  return [sigint_action, sighup_action]() { return PollSignals(sigint_action, sighup_action); };
}

}  // namespace deepspark
