// Solver: Caffe's training loop (Solver::Step/Solve): testing at
// test_interval, iter_size gradient accumulation, the smoothed loss over
// average_loss, display lines in Caffe's format, the update (learning rate,
// gradient clipping, 1/iter_size normalization, L1/L2 weight decay, then the
// type-specific ComputeUpdateValue and w -= diff), snapshots
// (<prefix>_iter_N.caffemodel/.solverstate) and Restore.
//
// Subclasses (sgd_solvers.hpp) implement ComputeUpdateValue and the history
// they keep; create them by type string with CreateSolver
// (solver_factory.hpp).
//
// A solver either owns a train net (and test nets sharing its weights), built
// from the SolverParameter, or, with the net-less constructor, updates a given
// list of parameter blobs (tests; applying gradients to a copy of the
// parameters). Step/Solve/Test need a net.
//
// Errors users can cause (bad solver fields, missing files, mismatched
// snapshots) throw deepspark::Error.
// Thread safety: a Solver and its nets are used by one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/net.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/signal_handler.hpp"

namespace deepspark {

// One scalar a test net produced: the mean over test_iter forward passes of
// one element of one output blob.
struct TestScore {
  int net_id = 0;          // which test net
  int output_id = 0;       // index in Caffe's "Test net output #k" numbering
  std::string name;        // the output blob's name
  double value = 0;        // mean over test_iter passes
  double loss_weight = 0;  // the blob's loss weight (0 for non-loss outputs)
};

// Caffe's test scoring, the one copy that Solver::Test, `deepspark test` and
// the parameter server's tester share: `iterations` forward passes of `net`,
// then the mean of every element of every output blob, summed and averaged
// in Dtype as Caffe does (so the printed numbers are Caffe's). Scores are
// numbered in Caffe's "Test net output #k" order and tagged with net_id.
// `before_pass` (optional) runs before each pass and returns false to stop:
// then no scores are returned. `on_pass` (optional) sees each pass's values
// (pass, output index, value). `mean_loss` (optional) gets the mean of the
// net's loss over the passes.
template <typename Dtype>
std::vector<TestScore> ScoreNet(Net<Dtype>& net, int net_id, int iterations, Dtype* mean_loss,
                                const std::function<bool()>& before_pass = nullptr,
                                const std::function<void(int, int, Dtype)>& on_pass = nullptr);

// The parameters a net-less solver updates, with their lr_mult and
// decay_mult (all three vectors have the same length; blobs not owned).
template <typename Dtype>
struct SolverParamSet {
  std::vector<Blob<Dtype>*> params;
  std::vector<float> lr_mult;
  std::vector<float> decay_mult;
};

template <typename Dtype>
class Solver {
 public:
  // Builds the train net and the test nets as Caffe's Solver::Init does.
  explicit Solver(const caffe::SolverParameter& param);
  // Net-less: updates `params` (see SolverParamSet). Only the update
  // (ApplyUpdate) and history snapshots work without a net.
  Solver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params);
  virtual ~Solver() = default;

  // Hooks for distributed training, called on the training thread.
  class Callback {
   public:
    virtual ~Callback() = default;
    // Before the forward/backward passes of an iteration.
    virtual void on_start() {}
    // After the gradients of an iteration are complete, before the update.
    virtual void on_gradients_ready() {}
    // After the update and the iteration increment (iter = updates done so
    // far), before the periodic snapshot: the place to exchange parameters.
    virtual void on_iteration_end(int iter) {}
  };
  // Callbacks are not owned and must outlive the training calls.
  void add_callback(Callback* callback) { callbacks_.push_back(callback); }
  const std::vector<Callback*>& callbacks() const { return callbacks_; }

  // Polled once per iteration (see SignalHandler::GetActionFunction).
  void SetActionFunction(ActionCallback func) { action_request_function_ = std::move(func); }
  SolverAction GetRequestedAction();
  // Asks Step/Solve to stop at the next iteration boundary (as STOP does).
  void RequestStop() { stop_requested_ = true; }
  bool requested_early_exit() const { return requested_early_exit_; }

  // Restores from `resume_file` (if not empty), trains to max_iter, then
  // snapshots (snapshot_after_train), displays and tests as Caffe does.
  virtual void Solve(const std::string& resume_file = "");
  // Runs `iters` iterations (fewer if stopped).
  // A training loss that is NaN or infinite stops training: Step (and Solve)
  // throw deepspark::Error ("loss is NaN at iteration N: training diverged;
  // the last snapshot written is ..."). The weights of iteration N are the
  // ones that gave that loss; if their snapshot was written (after the
  // update that made them, before their loss was known) it is removed, so
  // the newest snapshot left is one to resume from.
  void Step(int iters);
  // Loads a .solverstate: iter, current_step, history, then the weights of
  // its learned_net, and repositions the train net's data layers.
  void Restore(const std::string& state_file);
  // Writes <prefix>_iter_<iter>.caffemodel and .solverstate (atomically).
  // Returns the .solverstate path. Weights holding a NaN or an infinity are
  // not written: that throws as a diverged loss does (see Step).
  std::string Snapshot();
  // Runs every test net; returns all their scores (and logs them).
  std::vector<TestScore> TestAll();
  std::vector<TestScore> Test(int test_net_id);

  // One parameter update from the diffs now in the params: learning rate,
  // clipping, normalization, regularization, ComputeUpdateValue, w -= diff.
  virtual void ApplyUpdate() = 0;
  virtual const char* type() const = 0;

  const caffe::SolverParameter& param() const { return param_; }
  const std::shared_ptr<Net<Dtype>>& net() const { return net_; }
  const std::vector<std::shared_ptr<Net<Dtype>>>& test_nets() const { return test_nets_; }
  // The blobs updated, in Net::learnable_params() order.
  const std::vector<Blob<Dtype>*>& learnable_params() const { return params_; }
  int iter() const { return iter_; }
  void set_iter(int iter) { iter_ = iter; }
  int current_step() const { return current_step_; }
  // The learning-rate policy reads iter() * scale instead of iter() (the
  // iterations themselves, max_iter and snapshots are unchanged). A
  // distributed worker of N sets N under elastic averaging, so its rate
  // decays with the samples all N workers have seen (docs/distributed.md).
  void set_lr_schedule_scale(double scale) { lr_schedule_scale_ = scale; }
  double lr_schedule_scale() const { return lr_schedule_scale_; }
  void set_current_step(int step) { current_step_ = step; }
  // The train loss averaged over the last average_loss iterations of the
  // current (or last) Step call; each Step starts a fresh average, as Caffe's.
  Dtype smoothed_loss() const { return smoothed_loss_; }
  // <prefix>_iter_<iter><extension>.
  std::string SnapshotFilename(const std::string& extension) const;

 protected:
  // Writes the history blobs into a SolverState / reads them back (the
  // caller checks and fills iter, current_step and learned_net).
  virtual void SnapshotSolverState(caffe::SolverState* state) const = 0;
  virtual void RestoreSolverState(const caffe::SolverState& state) = 0;
  void UpdateSmoothedLoss(Dtype loss, int start_iter, int average_loss);
  void DisplayTrainOutputs();
  bool Displaying() const { return param_.display() && iter_ % param_.display() == 0; }

  caffe::SolverParameter param_;
  int iter_ = 0;
  int current_step_ = 0;
  double lr_schedule_scale_ = 1.0;
  std::shared_ptr<Net<Dtype>> net_;
  std::vector<std::shared_ptr<Net<Dtype>>> test_nets_;
  std::vector<Blob<Dtype>*> params_;
  std::vector<float> params_lr_;
  std::vector<float> params_decay_;
  std::vector<Callback*> callbacks_;
  std::vector<Dtype> losses_;
  Dtype smoothed_loss_ = 0;
  ActionCallback action_request_function_;
  bool requested_early_exit_ = false;
  bool stop_requested_ = false;
  std::chrono::steady_clock::time_point iteration_start_;
  int iterations_last_ = 0;

 private:
  void Init();
  void InitTrainNet();
  void InitTestNets();
  void LoadWeights(Net<Dtype>* net) const;
  void CheckSnapshotWritePermissions() const;
  // Throws "<what> at iteration <iter>: training diverged; <which snapshot
  // is left>", first removing the snapshot of this iteration if this solver
  // wrote one.
  [[noreturn]] void StopDiverged(const std::string& what);
  // "a weight is NaN (layer 'L', param k)" for the first non-finite value in
  // the train net's parameters; empty if they are all finite.
  std::string FirstNonFiniteWeight() const;

  // The snapshots this solver wrote last and before that (iter -1: none),
  // and the .solverstate it resumed from, for StopDiverged's message.
  struct WrittenSnapshot {
    int iter = -1;
    std::string model_file, state_file;
  };
  WrittenSnapshot last_snapshot_, previous_snapshot_;
  std::string restored_from_;

  DISABLE_COPY_AND_ASSIGN(Solver);
};

}  // namespace deepspark
