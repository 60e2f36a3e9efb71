// The six Caffe solver types. Each keeps history blobs shaped like the
// learnable params (in Net::learnable_params() order; AdaDelta and Adam keep
// two per param: [first N..., second N...]) and writes its update into the
// param's diff, which ApplyUpdate then subtracts (w -= diff):
//   SGD       v = momentum*v + lr*g;                       diff = v
//   Nesterov  v' = momentum*v + lr*g;   diff = (1+momentum)*v' - momentum*v
//   AdaGrad   h += g^2;                          diff = lr*g/(sqrt(h)+delta)
//   RMSProp   h = d*h + (1-d)*g^2 (d = rms_decay); diff = lr*g/(sqrt(h)+delta)
//   AdaDelta  hg = m*hg + (1-m)*g^2; u = g*sqrt((hu+delta)/(hg+delta));
//             hu = m*hu + (1-m)*u^2;                   diff = lr*u
//   Adam      m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2, t = iter+1;
//             diff = lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+delta)
// where lr = GetLearningRate() * lr_mult and g is the diff after clipping,
// 1/iter_size normalization and weight decay.
// Thread safety: as Solver.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/solver.hpp"

namespace deepspark {

template <typename Dtype>
class SGDSolver : public Solver<Dtype> {
 public:
  explicit SGDSolver(const caffe::SolverParameter& param) : Solver<Dtype>(param) { PreSolve(); }
  SGDSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : Solver<Dtype>(param, params) {
    PreSolve();
  }
  const char* type() const override { return "SGD"; }

  // The rate for the current iter under lr_policy (Caffe's formulas; step
  // and multistep update current_step).
  Dtype GetLearningRate();
  void ApplyUpdate() override;
  const std::vector<std::shared_ptr<Blob<Dtype>>>& history() const { return history_; }

  // The update steps, public so tests and dist/ can run them one by one.
  // If clip_gradients >= 0 and the global L2 norm of all diffs exceeds it,
  // scales every diff by clip_gradients / norm.
  void ClipGradients();
  // diff *= 1/iter_size.
  void Normalize(int param_id);
  // diff += weight_decay*decay_mult * (w for L2, sign(w) for L1).
  void Regularize(int param_id);
  // Turns the (regularized) gradient in diff into the update, with
  // rate = GetLearningRate() (lr_mult is applied here).
  virtual void ComputeUpdateValue(int param_id, Dtype rate);

 protected:
  void PreSolve();
  // Appends one more history blob per param (AdaDelta, Adam).
  void AddHistorySet();
  void SnapshotSolverState(caffe::SolverState* state) const override;
  void RestoreSolverState(const caffe::SolverState& state) override;

  std::vector<std::shared_ptr<Blob<Dtype>>> history_;
  // Scratch per param (sign(w), the previous velocity...).
  std::vector<std::shared_ptr<Blob<Dtype>>> temp_;
};

template <typename Dtype>
class NesterovSolver : public SGDSolver<Dtype> {
 public:
  explicit NesterovSolver(const caffe::SolverParameter& param) : SGDSolver<Dtype>(param) {}
  NesterovSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : SGDSolver<Dtype>(param, params) {}
  const char* type() const override { return "Nesterov"; }
  void ComputeUpdateValue(int param_id, Dtype rate) override;
};

template <typename Dtype>
class AdaGradSolver : public SGDSolver<Dtype> {
 public:
  explicit AdaGradSolver(const caffe::SolverParameter& param) : SGDSolver<Dtype>(param) {
    CheckParams();
  }
  AdaGradSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : SGDSolver<Dtype>(param, params) {
    CheckParams();
  }
  const char* type() const override { return "AdaGrad"; }
  void ComputeUpdateValue(int param_id, Dtype rate) override;

 private:
  void CheckParams() const;
};

template <typename Dtype>
class RMSPropSolver : public SGDSolver<Dtype> {
 public:
  explicit RMSPropSolver(const caffe::SolverParameter& param) : SGDSolver<Dtype>(param) {
    CheckParams();
  }
  RMSPropSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : SGDSolver<Dtype>(param, params) {
    CheckParams();
  }
  const char* type() const override { return "RMSProp"; }
  void ComputeUpdateValue(int param_id, Dtype rate) override;

 private:
  void CheckParams() const;
};

template <typename Dtype>
class AdaDeltaSolver : public SGDSolver<Dtype> {
 public:
  explicit AdaDeltaSolver(const caffe::SolverParameter& param) : SGDSolver<Dtype>(param) {
    this->AddHistorySet();
  }
  AdaDeltaSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : SGDSolver<Dtype>(param, params) {
    this->AddHistorySet();
  }
  const char* type() const override { return "AdaDelta"; }
  void ComputeUpdateValue(int param_id, Dtype rate) override;
};

template <typename Dtype>
class AdamSolver : public SGDSolver<Dtype> {
 public:
  explicit AdamSolver(const caffe::SolverParameter& param) : SGDSolver<Dtype>(param) {
    this->AddHistorySet();
  }
  AdamSolver(const caffe::SolverParameter& param, const SolverParamSet<Dtype>& params)
      : SGDSolver<Dtype>(param, params) {
    this->AddHistorySet();
  }
  const char* type() const override { return "Adam"; }
  void ComputeUpdateValue(int param_id, Dtype rate) override;
};

}  // namespace deepspark
