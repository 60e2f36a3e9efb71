// Nesterov's accelerated gradient in Caffe's form: the update uses the new
// velocity extrapolated by momentum.
#include "deepspark/gpu.hpp"
#include "deepspark/gpu_solver_updates.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

template <typename Dtype>
void NesterovSolver<Dtype>::ComputeUpdateValue(int param_id, Dtype rate) {
  Blob<Dtype>* blob = this->params_[param_id];
  Blob<Dtype>* velocity = this->history_[param_id].get();
  Blob<Dtype>* previous = this->temp_[param_id].get();
  const int n = blob->count();
  const Dtype momentum = this->param_.momentum();
  const Dtype local_rate = rate * this->params_lr_[param_id];
  if (CurrentComputeMode() == ComputeMode::kGpu) {
    // One kernel keeps the previous velocity in a register (no copy to temp_).
    NesterovUpdateGpu(n, blob->mutable_gpu_diff(), velocity->mutable_gpu_data(), momentum,
                      local_rate);
    return;
  }
  caffe_copy(n, velocity->cpu_data(), previous->mutable_cpu_data());
  caffe_cpu_axpby(n, local_rate, blob->cpu_diff(), momentum, velocity->mutable_cpu_data());
  // diff = (1 + momentum) * v - momentum * v_previous
  caffe_cpu_axpby(n, Dtype(1) + momentum, velocity->cpu_data(), -momentum,
                  previous->mutable_cpu_data());
  caffe_copy(n, previous->cpu_data(), blob->mutable_cpu_diff());
}

INSTANTIATE_CLASS(NesterovSolver);

}  // namespace deepspark
