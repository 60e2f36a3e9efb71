// RMSProp: AdaGrad with an exponentially decaying squared-gradient average.
#include <cmath>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

template <typename Dtype>
void RMSPropSolver<Dtype>::CheckParams() const {
  const caffe::SolverParameter& param = this->param_;
  REQUIRE(param.momentum() == 0) << "Momentum cannot be used with RMSProp (momentum is "
                                 << param.momentum() << ")";
  REQUIRE(param.rms_decay() >= 0 && param.rms_decay() < 1)
      << "RMSProp: rms_decay must be in [0, 1), got " << param.rms_decay();
}

template <typename Dtype>
void RMSPropSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  const int n = blob->count();
  const Dtype delta = this->param_.delta();
  const Dtype rms_decay = this->param_.rms_decay();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    RMSPropUpdateGpu(n, blob->mutable_gpu_diff(), this->history_[param_id]->mutable_gpu_data(),
                     rms_decay, delta, local_rate);
    return;
  }
  Dtype* h = this->history_[param_id]->mutable_cpu_data();
  Dtype* g = blob->mutable_cpu_diff();
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      h[i] = rms_decay * h[i] + (Dtype(1) - rms_decay) * g[i] * g[i];
      g[i] = local_rate * (g[i] / (std::sqrt(h[i]) + delta));
    }
  });
}

INSTANTIATE_CLASS(RMSPropSolver);

}  // namespace deepspark
