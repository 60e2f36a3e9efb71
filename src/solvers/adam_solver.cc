// Adam (Kingma & Ba 2015): bias-corrected first and second moment
// estimates; beta1 = momentum, beta2 = momentum2, epsilon = delta.
#include <cmath>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

template <typename Dtype>
void AdamSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  const int n = blob->count();
  const size_t num_params = this->params_.size();
  const Dtype beta1 = this->param_.momentum();
  const Dtype beta2 = this->param_.momentum2();
  const Dtype eps_hat = this->param_.delta();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  const int t = this->iter_ + 1;
  const Dtype correction =
      std::sqrt(Dtype(1) - std::pow(beta2, Dtype(t))) / (Dtype(1) - std::pow(beta1, Dtype(t)));
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    // local_rate * correction is the CPU's first product, left to right.
    AdamUpdateGpu(n, blob->mutable_gpu_diff(), this->history_[param_id]->mutable_gpu_data(),
                  this->history_[param_id + num_params]->mutable_gpu_data(), beta1, beta2, eps_hat,
                  local_rate * correction);
    return;
  }
  Dtype* m = this->history_[param_id]->mutable_cpu_data();
  Dtype* v = this->history_[param_id + num_params]->mutable_cpu_data();
  Dtype* g = blob->mutable_cpu_diff();
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      m[i] = beta1 * m[i] + (Dtype(1) - beta1) * g[i];
      v[i] = beta2 * v[i] + (Dtype(1) - beta2) * g[i] * g[i];
      g[i] = local_rate * correction * (m[i] / (std::sqrt(v[i]) + eps_hat));
    }
  });
}

INSTANTIATE_CLASS(AdamSolver);

}  // namespace deepspark
