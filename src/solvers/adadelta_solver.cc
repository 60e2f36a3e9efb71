// AdaDelta (Zeiler 2012) as Caffe has it: momentum is the decay of both
// running averages, and the step is still scaled by the learning rate.
#include <cmath>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

template <typename Dtype>
void AdaDeltaSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  const int n = blob->count();
  const size_t num_params = this->params_.size();
  const Dtype delta = this->param_.delta();
  const Dtype momentum = this->param_.momentum();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    AdaDeltaUpdateGpu(n, blob->mutable_gpu_diff(), this->history_[param_id]->mutable_gpu_data(),
                      this->history_[param_id + num_params]->mutable_gpu_data(), momentum, delta,
                      local_rate);
    return;
  }
  Dtype* hg = this->history_[param_id]->mutable_cpu_data();               // E[g^2]
  Dtype* hu = this->history_[param_id + num_params]->mutable_cpu_data();  // E[u^2]
  Dtype* g = blob->mutable_cpu_diff();
  ParallelForElements(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      hg[i] = momentum * hg[i] + (Dtype(1) - momentum) * g[i] * g[i];
      const Dtype u = g[i] * std::sqrt((hu[i] + delta) / (hg[i] + delta));
      hu[i] = momentum * hu[i] + (Dtype(1) - momentum) * u * u;
      g[i] = local_rate * u;
    }
  });
}

INSTANTIATE_CLASS(AdaDeltaSolver);

}  // namespace deepspark
