// SignalHandler: turns SIGINT and SIGHUP into solver actions, as Caffe's
// tool does (defaults: SIGINT stops, SIGHUP snapshots). While an instance
// lives, its handlers are installed; the destructor restores the previous
// ones. The solver polls GetActionFunction() once per iteration (and once per
// test pass), so a signal takes effect at the next iteration boundary.
//
// Thread safety: the handlers only set lock-free atomic flags; polling may
// happen from any thread. Only one SignalHandler may exist at a time.
#pragma once

#include <functional>
#include <string>

namespace deepspark {

// What the solver does when asked from outside (signal, dist controller).
enum class SolverAction {
  NONE = 0,      // keep going
  STOP = 1,      // stop training cleanly (Solve still snapshots after train)
  SNAPSHOT = 2,  // write a snapshot and keep going
};

// A function the solver calls to learn the pending action.
using ActionCallback = std::function<SolverAction()>;

// "stop" | "snapshot" | "none" (Caffe's --sigint_effect values); anything
// else throws deepspark::Error.
SolverAction ParseSolverAction(const std::string& effect);

class SignalHandler {
 public:
  SignalHandler(SolverAction sigint_action, SolverAction sighup_action);
  ~SignalHandler();
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;

  // Returns (and clears) the action for a signal received since the last
  // call; SIGHUP is reported before SIGINT. NONE when nothing arrived.
  SolverAction CheckForSignals() const;
  ActionCallback GetActionFunction();

 private:
  SolverAction sigint_action_;
  SolverAction sighup_action_;
};

}  // namespace deepspark
