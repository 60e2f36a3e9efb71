// AdaGrad: per-element rates shrinking with the accumulated squared
// gradient.
#include <cmath>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

template <typename Dtype>
void AdaGradSolver<Dtype>::CheckParams() const {
  REQUIRE(this->param_.momentum() == 0)
      << "Momentum cannot be used with AdaGrad (momentum is " << this->param_.momentum() << ")";
}

template <typename Dtype>
void AdaGradSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  const int n = blob->count();
  const Dtype delta = this->param_.delta();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    AdaGradUpdateGpu(n, blob->mutable_gpu_diff(), this->history_[param_id]->mutable_gpu_data(),
                     delta, local_rate);
    return;
  }
  Dtype* h = this->history_[param_id]->mutable_cpu_data();
  Dtype* g = blob->mutable_cpu_diff();
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      h[i] += g[i] * g[i];
      g[i] = local_rate * (g[i] / (std::sqrt(h[i]) + delta));
    }
  });
}

INSTANTIATE_CLASS(AdaGradSolver);

}  // namespace deepspark
