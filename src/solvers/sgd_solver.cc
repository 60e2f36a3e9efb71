// SGDSolver: the learning-rate policies, the update steps shared by every
// solver type (clip, normalize, regularize) and momentum SGD itself.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

namespace {
bool KnownPolicy(const std::string& policy) {
  for (const char* known : {"fixed", "step", "exp", "inv", "multistep", "poly", "sigmoid"}) {
    if (policy == known) return true;
  }
  return false;
}
}  // namespace

template <typename Dtype>
void SGDSolver<Dtype>::PreSolve() {
  const caffe::SolverParameter& param = this->param_;
  // Checked here rather than at the first update, so a bad solver file
  // fails before any training.
  REQUIRE(KnownPolicy(param.lr_policy()))
      << "Unknown learning rate policy: '" << param.lr_policy()
      << "' (known: fixed, step, exp, inv, multistep, poly, sigmoid)";
  if (param.lr_policy() == "step") {
    REQUIRE(param.stepsize() > 0) << "lr_policy step needs stepsize > 0, got " << param.stepsize();
  }
  if (param.lr_policy() == "poly") {
    REQUIRE(param.max_iter() > 0) << "lr_policy poly needs max_iter > 0";
  }
  if (param.weight_decay() != 0) {
    REQUIRE(param.regularization_type() == "L1" || param.regularization_type() == "L2")
        << "Unknown regularization type: '" << param.regularization_type() << "' (known: L1, L2)";
  }
  history_.clear();
  temp_.clear();
  AddHistorySet();
  for (Blob<Dtype>* blob : this->params_) {
    temp_.push_back(std::make_shared<Blob<Dtype>>(blob->shape()));
  }
}

template <typename Dtype>
void SGDSolver<Dtype>::AddHistorySet() {
  for (Blob<Dtype>* blob : this->params_) {
    history_.push_back(std::make_shared<Blob<Dtype>>(blob->shape()));  // zero-filled
  }
}

template <typename Dtype>
Dtype SGDSolver<Dtype>::GetLearningRate() {
  const caffe::SolverParameter& param = this->param_;
  const std::string& policy = param.lr_policy();
  const double base_lr = param.base_lr();
  const double gamma = param.gamma();
  // The schedule's iteration (lr_schedule_scale: solver.hpp); Caffe's own
  // with the scale at 1.
  const double iter = this->iter_ * this->lr_schedule_scale_;
  const int64_t whole_iter = static_cast<int64_t>(iter);
  double rate = 0;
  if (policy == "fixed") {
    rate = base_lr;
  } else if (policy == "step") {
    this->current_step_ = static_cast<int>(whole_iter / param.stepsize());
    rate = base_lr * std::pow(gamma, this->current_step_);
  } else if (policy == "exp") {
    rate = base_lr * std::pow(gamma, iter);
  } else if (policy == "inv") {
    rate = base_lr * std::pow(1.0 + gamma * iter, -static_cast<double>(param.power()));
  } else if (policy == "multistep") {
    // At most one step per call, as Caffe does.
    if (this->current_step_ < param.stepvalue_size() &&
        whole_iter >= param.stepvalue(this->current_step_)) {
      ++this->current_step_;
      LOG(INFO) << "MultiStep Status: Iteration " << this->iter_
                << ", step = " << this->current_step_;
    }
    rate = base_lr * std::pow(gamma, this->current_step_);
  } else if (policy == "poly") {
    // Past max_iter (a scaled schedule runs ahead of the iterations) the
    // rate stays 0 rather than turning NaN.
    rate = base_lr * std::pow(std::max(0.0, 1.0 - iter / static_cast<double>(param.max_iter())),
                              static_cast<double>(param.power()));
  } else if (policy == "sigmoid") {
    rate =
        base_lr * (1.0 / (1.0 + std::exp(-gamma * (iter - static_cast<double>(param.stepsize())))));
  } else {
    THROW_ERROR() << "Unknown learning rate policy: '" << policy << "'";
  }
  return static_cast<Dtype>(rate);
}

template <typename Dtype>
void SGDSolver<Dtype>::ApplyUpdate() {
  const Dtype rate = GetLearningRate();
  if (this->Displaying()) {
    LOG(INFO) << "Iteration " << this->iter_ << ", lr = " << rate;
  }
  ClipGradients();
  for (int param_id = 0; param_id < static_cast<int>(this->params_.size()); ++param_id) {
    Normalize(param_id);
    Regularize(param_id);
    ComputeUpdateValue(param_id, rate);
  }
  if (this->net_) {
    this->net_->Update();
  } else {
    for (Blob<Dtype>* blob : this->params_) blob->Update();
  }
}

template <typename Dtype>
void SGDSolver<Dtype>::ClipGradients() {
  const Dtype clip_gradients = this->param_.clip_gradients();
  if (clip_gradients < 0) return;
  // The norm over all params together, not per param.
  double sumsq_diff = 0;
  for (Blob<Dtype>* blob : this->params_) sumsq_diff += blob->sumsq_diff();
  const Dtype l2norm_diff = static_cast<Dtype>(std::sqrt(sumsq_diff));
  if (l2norm_diff > clip_gradients) {
    const Dtype scale_factor = clip_gradients / l2norm_diff;
    LOG(INFO) << "Gradient clipping: scaling down gradients (L2 norm " << l2norm_diff << " > "
              << clip_gradients << ") by scale factor " << scale_factor;
    for (Blob<Dtype>* blob : this->params_) blob->scale_diff(scale_factor);
  }
}

template <typename Dtype>
void SGDSolver<Dtype>::Normalize(int param_id) {
  const int iter_size = this->param_.iter_size();
  if (iter_size == 1) return;
  Blob<Dtype>* blob = this->params_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    caffe_gpu_scal(blob->count(), Dtype(1) / iter_size, blob->mutable_gpu_diff());
    return;
  }
  caffe_scal(blob->count(), Dtype(1) / iter_size, blob->mutable_cpu_diff());
}

template <typename Dtype>
void SGDSolver<Dtype>::Regularize(int param_id) {
  const Dtype local_decay = this->param_.weight_decay() * this->params_decay_[param_id];
  if (local_decay == 0) return;
  Blob<Dtype>* blob = this->params_[param_id];
  const std::string& type = this->param_.regularization_type();
  if (CurrentComputeMode() == ComputeMode::kGpu && (type == "L1" || type == "L2")) {
    if (type == "L2") {
      caffe_gpu_axpy(blob->count(), local_decay, blob->gpu_data(), blob->mutable_gpu_diff());
    } else {
      Blob<Dtype>* sign = temp_[param_id].get();
      caffe_gpu_sign(blob->count(), blob->gpu_data(), sign->mutable_gpu_data());
      caffe_gpu_axpy(blob->count(), local_decay, sign->gpu_data(), blob->mutable_gpu_diff());
    }
    return;
  }
  if (type == "L2") {
    caffe_axpy(blob->count(), local_decay, blob->cpu_data(), blob->mutable_cpu_diff());
  } else if (type == "L1") {
    Blob<Dtype>* sign = temp_[param_id].get();
    caffe_cpu_sign(blob->count(), blob->cpu_data(), sign->mutable_cpu_data());
    caffe_axpy(blob->count(), local_decay, sign->cpu_data(), blob->mutable_cpu_diff());
  } else {
    THROW_ERROR() << "Unknown regularization type: '" << type << "' (known: L1, L2)";
  }
}

template <typename Dtype>
void SGDSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  Blob<Dtype>* velocity = history_[param_id].get();
  const Dtype momentum = this->param_.momentum();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    caffe_gpu_axpby(blob->count(), local_rate, blob->gpu_diff(), momentum,
                    velocity->mutable_gpu_data());
    caffe_gpu_copy(blob->count(), velocity->gpu_data(), blob->mutable_gpu_diff());
    return;
  }
  caffe_cpu_axpby(blob->count(), local_rate, blob->cpu_diff(), momentum,
                  velocity->mutable_cpu_data());
  caffe_copy(blob->count(), velocity->cpu_data(), blob->mutable_cpu_diff());
}

template <typename Dtype>
void SGDSolver<Dtype>::SnapshotSolverState(caffe::SolverState* state) const {
  state->clear_history();
  for (const auto& blob : history_) blob->ToProto(state->add_history());
}

template <typename Dtype>
void SGDSolver<Dtype>::RestoreSolverState(const caffe::SolverState& state) {
  REQUIRE(state.history_size() == static_cast<int>(history_.size()))
      << "Incorrect length of history blobs: the solver state has " << state.history_size()
      << ", a " << this->type() << " solver for this net needs " << history_.size()
      << " (was the state written by another solver type or another net?)";
  // Check every shape before changing anything.
  for (int i = 0; i < state.history_size(); ++i) {
    REQUIRE(history_[i]->ShapeEquals(state.history(i)))
        << "Solver state history blob " << i << " does not match the shape "
        << history_[i]->shape_string() << " of the net's parameter";
  }
  for (int i = 0; i < state.history_size(); ++i) history_[i]->FromProto(state.history(i), false);
}

INSTANTIATE_CLASS(SGDSolver);

}  // namespace deepspark
