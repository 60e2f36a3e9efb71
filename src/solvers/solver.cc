// Solver: the training loop, testing, display, snapshot and restore, in the
// order and with the log lines of Caffe's Solver (see solver.hpp).
#include "deepspark/solver.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "deepspark/hdf5_snapshot.hpp"
#include "deepspark/io.hpp"
#include "deepspark/progress.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The directory part of a path, with its trailing slash ("" if none).
std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "NaN", "inf" or "-inf" (std::ostream spells NaN as "nan" or "-nan").
std::string NonFiniteName(double value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf";
}

}  // namespace

template <typename Dtype>
Solver<Dtype>::Solver(const caffe::SolverParameter& param) : param_(param) {
  Init();
}

template <typename Dtype>
Solver<Dtype>::Solver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
    : param_(param),
      params_(params.params),
      params_lr_(params.lr_mult),
      params_decay_(params.decay_mult) {
  REQUIRE(params_lr_.size() == params_.size() && params_decay_.size() == params_.size())
      << "SolverParamSet: params, lr_mult and decay_mult must have the same length ("
      << params_.size() << ", " << params_lr_.size() << ", " << params_decay_.size() << ")";
  REQUIRE(param_.iter_size() >= 1) << "Solver: iter_size must be >= 1, got " << param_.iter_size();
}

template <typename Dtype>
void Solver<Dtype>::Init() {
  REQUIRE(param_.iter_size() >= 1) << "Solver: iter_size must be >= 1, got " << param_.iter_size();
  REQUIRE(param_.average_loss() >= 1)
      << "Solver: average_loss must be >= 1, got " << param_.average_loss();
  REQUIRE(param_.snapshot() >= 0) << "Solver: snapshot must be >= 0, got " << param_.snapshot();
  REQUIRE(param_.snapshot() == 0 || !param_.snapshot_prefix().empty())
      << "In solver params, snapshot is specified but snapshot_prefix is not";
  CheckSnapshotWritePermissions();
  // Seed before the nets exist, so their initial weights are repeatable.
  if (param_.random_seed() >= 0) SetRandomSeed(param_.random_seed());
  InitTrainNet();
  InitTestNets();
  params_ = net_->learnable_params();
  params_lr_ = net_->params_lr();
  params_decay_ = net_->params_weight_decay();
  CHECK_EQ(params_lr_.size(), params_.size());
  CHECK_EQ(params_decay_.size(), params_.size());
  iter_ = 0;
  current_step_ = 0;
}

template <typename Dtype>
void Solver<Dtype>::InitTrainNet() {
  int num_train_nets = param_.has_net() + param_.has_net_param() + param_.has_train_net() +
                       param_.has_train_net_param();
  const char* fields = "net, net_param, train_net, train_net_param";
  REQUIRE(num_train_nets >= 1) << "SolverParameter must specify a train net using one of these "
                                  "fields: "
                               << fields;
  REQUIRE(num_train_nets <= 1)
      << "SolverParameter must not contain more than one of these fields specifying a train "
         "net: "
      << fields;
  caffe::NetParameter net_param;
  if (param_.has_train_net_param()) {
    LOG(INFO) << "Creating training net specified in train_net_param.";
    net_param.CopyFrom(param_.train_net_param());
  } else if (param_.has_train_net()) {
    LOG(INFO) << "Creating training net from train_net file: " << param_.train_net();
    ReadNetParamsFromTextFile(param_.train_net(), &net_param);
  } else if (param_.has_net_param()) {
    LOG(INFO) << "Creating training net specified in net_param.";
    net_param.CopyFrom(param_.net_param());
  } else {
    LOG(INFO) << "Creating training net from net file: " << param_.net();
    ReadNetParamsFromTextFile(param_.net(), &net_param);
  }
  // Phase TRAIN, then the net's own state, then train_state (later wins).
  caffe::NetState net_state;
  net_state.set_phase(caffe::TRAIN);
  net_state.MergeFrom(net_param.state());
  net_state.MergeFrom(param_.train_state());
  *net_param.mutable_state() = net_state;
  net_ = std::make_shared<Net<Dtype>>(net_param);
  LoadWeights(net_.get());
}

template <typename Dtype>
void Solver<Dtype>::InitTestNets() {
  const bool has_net_param = param_.has_net_param();
  const bool has_net_file = param_.has_net();
  REQUIRE(has_net_param + has_net_file <= 1)
      << "SolverParameter: both net_param and net may not be specified";
  const int num_test_net_params = param_.test_net_param_size();
  const int num_test_net_files = param_.test_net_size();
  const int num_test_nets = num_test_net_params + num_test_net_files;
  int num_generic_net_instances = 0;
  if (has_net_param || has_net_file) {
    REQUIRE(param_.test_iter_size() >= num_test_nets)
        << "SolverParameter: test_iter must be specified for each test network (" << num_test_nets
        << " test nets, " << param_.test_iter_size() << " test_iter)";
    num_generic_net_instances = param_.test_iter_size() - num_test_nets;
  } else {
    REQUIRE(param_.test_iter_size() == num_test_nets)
        << "SolverParameter: test_iter must be specified for each test network (" << num_test_nets
        << " test nets, " << param_.test_iter_size() << " test_iter)";
  }
  const int num_instances = num_test_nets + num_generic_net_instances;
  if (param_.test_state_size()) {
    REQUIRE(param_.test_state_size() == num_instances)
        << "SolverParameter: test_state must be unspecified or specified once per test net ("
        << num_instances << " test nets, " << param_.test_state_size() << " test_state)";
  }
  for (int i = 0; i < param_.test_iter_size(); ++i) {
    REQUIRE(param_.test_iter(i) > 0)
        << "SolverParameter: test_iter must be > 0, got " << param_.test_iter(i);
  }
  if (num_instances) {
    REQUIRE(param_.test_interval() > 0)
        << "SolverParameter: test_interval must be > 0 when there are test nets";
  }
  std::vector<caffe::NetParameter> net_params(num_instances);
  std::vector<std::string> sources(num_instances);
  int id = 0;
  for (int i = 0; i < num_test_net_params; ++i, ++id) {
    sources[id] = "test_net_param";
    net_params[id].CopyFrom(param_.test_net_param(i));
  }
  for (int i = 0; i < num_test_net_files; ++i, ++id) {
    sources[id] = "test_net file: " + param_.test_net(i);
    ReadNetParamsFromTextFile(param_.test_net(i), &net_params[id]);
  }
  for (int i = 0; i < num_generic_net_instances; ++i, ++id) {
    if (has_net_param) {
      sources[id] = "net_param";
      net_params[id].CopyFrom(param_.net_param());
    } else {
      sources[id] = "net file: " + param_.net();
      ReadNetParamsFromTextFile(param_.net(), &net_params[id]);
    }
  }
  test_nets_.clear();
  for (int i = 0; i < num_instances; ++i) {
    caffe::NetState net_state;
    net_state.set_phase(caffe::TEST);
    net_state.MergeFrom(net_params[i].state());
    if (param_.test_state_size()) net_state.MergeFrom(param_.test_state(i));
    *net_params[i].mutable_state() = net_state;
    LOG(INFO) << "Creating test net (#" << i << ") specified by " << sources[i];
    test_nets_.push_back(std::make_shared<Net<Dtype>>(net_params[i]));
    LoadWeights(test_nets_.back().get());
  }
}

// The solver's `weights` field: comma-separated .caffemodel files copied
// into the net by layer name.
template <typename Dtype>
void Solver<Dtype>::LoadWeights(Net<Dtype>* net) const {
  for (const std::string& list : param_.weights()) {
    std::stringstream stream(list);
    std::string file;
    while (std::getline(stream, file, ',')) {
      if (file.empty()) continue;
      LOG(INFO) << "Finetuning from " << file;
      net->CopyTrainedLayersFrom(file);
    }
  }
}

template <typename Dtype>
void Solver<Dtype>::CheckSnapshotWritePermissions() const {
  if (!param_.snapshot()) return;
  REQUIRE(CanCreateFile(SnapshotFilename(".tempfile")))
      << "Cannot write to snapshot prefix '" << param_.snapshot_prefix()
      << "'. Make sure that the directory exists and is writable.";
}

template <typename Dtype>
SolverAction Solver<Dtype>::GetRequestedAction() {
  if (stop_requested_) {
    stop_requested_ = false;
    return SolverAction::STOP;
  }
  if (action_request_function_) return action_request_function_();
  return SolverAction::NONE;
}

template <typename Dtype>
void Solver<Dtype>::Step(int iters) {
  REQUIRE(net_ != nullptr) << "Solver::Step needs a train net (this solver was built without one)";
  const int start_iter = iter_;
  const int stop_iter = iter_ + iters;
  const int average_loss = param_.average_loss();
  losses_.clear();
  smoothed_loss_ = 0;
  iteration_start_ = std::chrono::steady_clock::now();
  iterations_last_ = iter_;
  const auto step_start = iteration_start_;
  const ProgressMeter progress("iterations", static_cast<uint64_t>(std::max(iters, 0)), 0,
                               "Trained");

  while (iter_ < stop_iter) {
    net_->ClearParamDiffs();
    if (param_.test_interval() && iter_ % param_.test_interval() == 0 &&
        (iter_ > 0 || param_.test_initialization())) {
      TestAll();
      if (requested_early_exit_) break;
    }
    for (Callback* callback : callbacks_) callback->on_start();
    const bool display = Displaying();
    net_->set_debug_info(display && param_.debug_info());
    // Seeded per iteration, so a resumed run draws what an uninterrupted
    // one would have drawn at this iteration.
    if (param_.random_seed() >= 0) SeedThreadRng(param_.random_seed(), iter_);
    Dtype loss = 0;
    for (int i = 0; i < param_.iter_size(); ++i) loss += net_->ForwardBackward();
    loss /= param_.iter_size();
    // Updating on a NaN or infinite loss only spreads it to every weight;
    // the snapshots after it would be useless.
    if (!std::isfinite(static_cast<double>(loss))) {
      StopDiverged("loss is " + NonFiniteName(loss));
    }
    UpdateSmoothedLoss(loss, start_iter, average_loss);
    if (display) {
      const double lapse = SecondsSince(iteration_start_);
      const double per_s = (iter_ - iterations_last_) / (lapse ? lapse : 1);
      LOG(INFO) << "Iteration " << iter_ << " (" << per_s << " iter/s, " << lapse << "s/"
                << param_.display() << " iters), loss = " << smoothed_loss_;
      // Caffe's line above stays as log parsers expect it; the progress of
      // this Step (or Solve) to its last iteration, with an ETA, follows.
      LOG(INFO) << progress.Line(iter_ - start_iter, SecondsSince(step_start));
      iteration_start_ = std::chrono::steady_clock::now();
      iterations_last_ = iter_;
      DisplayTrainOutputs();
    }
    for (Callback* callback : callbacks_) callback->on_gradients_ready();
    ApplyUpdate();
    // iter_ counts the updates done so far.
    ++iter_;
    for (Callback* callback : callbacks_) callback->on_iteration_end(iter_);
    const SolverAction request = GetRequestedAction();
    if ((param_.snapshot() && iter_ % param_.snapshot() == 0) ||
        request == SolverAction::SNAPSHOT) {
      Snapshot();
    }
    if (request == SolverAction::STOP) {
      requested_early_exit_ = true;
      break;
    }
  }
}

template <typename Dtype>
void Solver<Dtype>::DisplayTrainOutputs() {
  const std::vector<Blob<Dtype>*>& result = net_->output_blobs();
  int score_index = 0;
  for (size_t j = 0; j < result.size(); ++j) {
    const Dtype* values = result[j]->cpu_data();
    const int blob_index = net_->output_blob_indices()[j];
    const std::string& name = net_->blob_names()[blob_index];
    const Dtype loss_weight = net_->blob_loss_weights()[blob_index];
    for (int k = 0; k < result[j]->count(); ++k) {
      std::ostringstream loss_msg;
      if (loss_weight) {
        loss_msg << " (* " << loss_weight << " = " << loss_weight * values[k] << " loss)";
      }
      LOG(INFO) << "    Train net output #" << score_index++ << ": " << name << " = " << values[k]
                << loss_msg.str();
    }
  }
}

template <typename Dtype>
void Solver<Dtype>::UpdateSmoothedLoss(Dtype loss, int start_iter, int average_loss) {
  if (static_cast<int>(losses_.size()) < average_loss) {
    losses_.push_back(loss);
    const int size = static_cast<int>(losses_.size());
    smoothed_loss_ = (smoothed_loss_ * (size - 1) + loss) / size;
  } else {
    const int idx = (iter_ - start_iter) % average_loss;
    smoothed_loss_ += (loss - losses_[idx]) / average_loss;
    losses_[idx] = loss;
  }
}

template <typename Dtype>
void Solver<Dtype>::Solve(const std::string& resume_file) {
  REQUIRE(net_ != nullptr) << "Solver::Solve needs a train net (this solver was built without one)";
  LOG(INFO) << "Solving " << net_->name();
  LOG(INFO) << "Learning Rate Policy: " << param_.lr_policy();
  requested_early_exit_ = false;
  if (!resume_file.empty()) {
    LOG(INFO) << "Restoring previous solver status from " << resume_file;
    Restore(resume_file);
    restored_from_ = resume_file;
  }
  const int start_iter = iter_;
  Step(param_.max_iter() - iter_);
  if (param_.snapshot_after_train() && (!param_.snapshot() || iter_ % param_.snapshot() != 0)) {
    if (param_.snapshot_prefix().empty()) {
      LOG(WARNING) << "snapshot_after_train is set but snapshot_prefix is empty: no final snapshot";
    } else {
      Snapshot();
    }
  }
  if (requested_early_exit_) {
    LOG(INFO) << "Optimization stopped early.";
    return;
  }
  // One more forward pass for the final display (no backward: the weights
  // after the last update are what is reported).
  if (param_.display() && iter_ % param_.display() == 0) {
    Dtype loss = 0;
    net_->Forward(&loss);
    if (!std::isfinite(static_cast<double>(loss))) {
      StopDiverged("loss is " + NonFiniteName(loss));
    }
    UpdateSmoothedLoss(loss, start_iter, param_.average_loss());
    LOG(INFO) << "Iteration " << iter_ << ", loss = " << smoothed_loss_;
  }
  if (param_.test_interval() && iter_ % param_.test_interval() == 0) TestAll();
  LOG(INFO) << "Optimization Done.";
}

template <typename Dtype>
std::vector<TestScore> Solver<Dtype>::TestAll() {
  std::vector<TestScore> all;
  for (int id = 0; id < static_cast<int>(test_nets_.size()) && !requested_early_exit_; ++id) {
    std::vector<TestScore> scores = Test(id);
    all.insert(all.end(), scores.begin(), scores.end());
  }
  return all;
}

template <typename Dtype>
std::vector<TestScore> Solver<Dtype>::Test(int test_net_id) {
  CHECK(test_net_id >= 0 && test_net_id < static_cast<int>(test_nets_.size()));
  LOG(INFO) << "Iteration " << iter_ << ", Testing net (#" << test_net_id << ")";
  Net<Dtype>* test_net = test_nets_[test_net_id].get();
  test_net->ShareTrainedLayersWith(net_.get());
  Dtype loss = 0;
  std::vector<TestScore> scores =
      ScoreNet<Dtype>(*test_net, test_net_id, param_.test_iter(test_net_id), &loss, [this] {
        for (SolverAction request = GetRequestedAction(); request != SolverAction::NONE;
             request = GetRequestedAction()) {
          if (request == SolverAction::SNAPSHOT) {
            Snapshot();
          } else if (request == SolverAction::STOP) {
            requested_early_exit_ = true;
          }
        }
        return !requested_early_exit_;
      });
  if (requested_early_exit_) {
    LOG(INFO) << "Test interrupted.";
    return scores;
  }
  if (param_.test_compute_loss()) LOG(INFO) << "Test loss: " << loss;
  for (const TestScore& score : scores) {
    std::ostringstream loss_msg;
    const Dtype mean = static_cast<Dtype>(score.value);
    if (score.loss_weight) {
      const Dtype weight = static_cast<Dtype>(score.loss_weight);
      loss_msg << " (* " << weight << " = " << weight * mean << " loss)";
    }
    LOG(INFO) << "    Test net output #" << score.output_id << ": " << score.name << " = " << mean
              << loss_msg.str();
  }
  return scores;
}

template <typename Dtype>
std::vector<TestScore> ScoreNet(Net<Dtype>& net, int net_id, int iterations, Dtype* mean_loss,
                                const std::function<bool()>& before_pass,
                                const std::function<void(int, int, Dtype)>& on_pass) {
  std::vector<Dtype> sums;
  std::vector<int> output_of;  // which output blob each score belongs to
  Dtype loss = 0;
  for (int i = 0; i < iterations; ++i) {
    if (before_pass && !before_pass()) return {};
    Dtype iter_loss = 0;
    const std::vector<Blob<Dtype>*>& result = net.Forward(&iter_loss);
    loss += iter_loss;
    size_t index = 0;
    for (size_t j = 0; j < result.size(); ++j) {
      const Dtype* values = result[j]->cpu_data();
      for (int k = 0; k < result[j]->count(); ++k, ++index) {
        if (i == 0) {
          sums.push_back(values[k]);
          output_of.push_back(static_cast<int>(j));
        } else {
          CHECK_LT(index, sums.size());
          sums[index] += values[k];
        }
        if (on_pass) on_pass(i, static_cast<int>(index), values[k]);
      }
    }
  }
  if (mean_loss) *mean_loss = iterations > 0 ? loss / iterations : 0;
  std::vector<TestScore> scores;
  for (size_t i = 0; i < sums.size(); ++i) {
    const int blob_index = net.output_blob_indices()[output_of[i]];
    TestScore score;
    score.net_id = net_id;
    score.output_id = static_cast<int>(i);
    score.name = net.blob_names()[blob_index];
    score.loss_weight = net.blob_loss_weights()[blob_index];
    score.value = static_cast<Dtype>(sums[i] / iterations);
    scores.push_back(score);
  }
  return scores;
}

template std::vector<TestScore> ScoreNet<float>(Net<float>&, int, int, float*,
                                                const std::function<bool()>&,
                                                const std::function<void(int, int, float)>&);
template std::vector<TestScore> ScoreNet<double>(Net<double>&, int, int, double*,
                                                 const std::function<bool()>&,
                                                 const std::function<void(int, int, double)>&);

template <typename Dtype>
std::string Solver<Dtype>::SnapshotFilename(const std::string& extension) const {
  return param_.snapshot_prefix() + "_iter_" + std::to_string(iter_) + extension;
}

template <typename Dtype>
std::string Solver<Dtype>::Snapshot() {
  REQUIRE(!param_.snapshot_prefix().empty())
      << "Cannot snapshot: the solver has no snapshot_prefix";
  // Caffe's two formats hold the same things: weights, then the state that
  // names them (hdf5_snapshot.hpp says how HDF5 lays them out).
  const bool hdf5 = param_.snapshot_format() == caffe::SolverParameter::HDF5;
  const std::string h5 = hdf5 ? ".h5" : "";
  caffe::SolverState state;
  WrittenSnapshot written;
  written.iter = iter_;
  if (net_) {
    const std::string bad = FirstNonFiniteWeight();
    if (!bad.empty()) StopDiverged(bad);
    const std::string model_filename = SnapshotFilename(".caffemodel" + h5);
    if (hdf5) {
      LOG(INFO) << "Snapshotting to HDF5 file " << model_filename;
      net_->ToHDF5(model_filename, param_.snapshot_diff());
    } else {
      LOG(INFO) << "Snapshotting to binary proto file " << model_filename;
      caffe::NetParameter net_param;
      net_->ToProto(&net_param, param_.snapshot_diff());
      WriteProtoToBinaryFile(net_param, model_filename);
    }
    state.set_learned_net(model_filename);
    written.model_file = model_filename;
  }
  state.set_iter(iter_);
  state.set_current_step(current_step_);
  SnapshotSolverState(&state);
  const std::string state_filename = SnapshotFilename(".solverstate" + h5);
  if (hdf5) {
    LOG(INFO) << "Snapshotting solver state to HDF5 file " << state_filename;
    WriteSolverStateToHDF5File(state, state_filename);
  } else {
    LOG(INFO) << "Snapshotting solver state to binary proto file " << state_filename;
    WriteProtoToBinaryFile(state, state_filename);
  }
  written.state_file = state_filename;
  if (last_snapshot_.iter != iter_) previous_snapshot_ = last_snapshot_;
  last_snapshot_ = written;
  return state_filename;
}

template <typename Dtype>
std::string Solver<Dtype>::FirstNonFiniteWeight() const {
  const auto& layers = net_->layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& blobs = layers[l]->blobs();
    for (size_t b = 0; b < blobs.size(); ++b) {
      const Dtype* values = blobs[b]->cpu_data();
      for (int k = 0; k < blobs[b]->count(); ++k) {
        if (!std::isfinite(static_cast<double>(values[k]))) {
          return "a weight is " + NonFiniteName(values[k]) + " (layer '" + net_->layer_names()[l] +
                 "', param " + std::to_string(b) + ")";
        }
      }
    }
  }
  return "";
}

template <typename Dtype>
void Solver<Dtype>::StopDiverged(const std::string& what) {
  std::ostringstream message;
  message << what << " at iteration " << iter_ << ": training diverged";
  if (last_snapshot_.iter == iter_) {
    // Written after the update that made these weights, before their loss
    // was known: resuming from it would diverge again at once.
    for (const std::string& file : {last_snapshot_.model_file, last_snapshot_.state_file}) {
      if (!file.empty()) std::remove(file.c_str());
    }
    message << "; the snapshot of these weights (" << last_snapshot_.state_file << ") was removed";
    last_snapshot_ = previous_snapshot_;
    previous_snapshot_ = WrittenSnapshot();
  }
  if (last_snapshot_.iter >= 0) {
    message << "; the last snapshot written is " << last_snapshot_.state_file;
  } else if (!restored_from_.empty()) {
    message << "; no snapshot was written since resuming from " << restored_from_;
  } else {
    message << "; no snapshot was written";
  }
  message << " (lower base_lr, or check the data and the weights)";
  throw Error(message.str());
}

template <typename Dtype>
void Solver<Dtype>::Restore(const std::string& state_file) {
  // As Caffe: a name ending in .h5 is an HDF5 state.
  const std::string h5 = ".h5";
  caffe::SolverState state;
  if (state_file.size() >= h5.size() &&
      state_file.compare(state_file.size() - h5.size(), h5.size(), h5) == 0) {
    ReadSolverStateFromHDF5File(state_file, &state);
  } else {
    ReadProtoFromBinaryFile(state_file, &state);
  }
  // Find the weights before changing anything, so a failed restore leaves
  // the solver as it was.
  std::string learned_net;
  if (net_ && state.has_learned_net() && !state.learned_net().empty()) {
    learned_net = state.learned_net();
    if (!FileExists(learned_net)) {
      // Snapshots moved together: look beside the .solverstate.
      const std::string beside = DirName(state_file) + BaseName(learned_net);
      REQUIRE(FileExists(beside))
          << "Cannot restore " << state_file << ": its weights file " << learned_net
          << " does not exist (nor " << beside
          << "); put the .caffemodel written with this .solverstate next to it";
      learned_net = beside;
    }
  }
  caffe::NetParameter weights;
  if (!learned_net.empty()) {
    LOG(INFO) << "Loading weights from " << learned_net;
    ReadNetParamsFromWeightsFile(learned_net, &weights);
  }
  RestoreSolverState(state);  // checks the history count and shapes first
  iter_ = state.iter();
  current_step_ = state.current_step();
  if (!learned_net.empty()) net_->CopyTrainedLayersFrom(weights);
  // The data layers continue where the interrupted run stopped.
  if (net_) net_->SeekData(static_cast<uint64_t>(iter_) * param_.iter_size());
}

INSTANTIATE_CLASS(Solver);

}  // namespace deepspark
