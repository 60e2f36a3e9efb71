// The element-wise updates of the adaptive solvers (sgd_solvers.hpp) on
// device pointers, for their GPU path (ComputeMode::kGpu): each is its
// solver's ComputeUpdateValue loop, the same formulas in the same order,
// one thread per element. g is the parameter's diff (n values), replaced by
// the step; the history arrays (n values each) are updated in place; `rate`
// is the parameter's local rate (Adam: times its bias correction). n == 0
// launches nothing. Run on the calling thread's device, default stream.
//
// Without the CUDA backend each call throws deepspark::Error (as gpu_math.hpp's).
#pragma once

namespace deepspark {

// Nesterov: v' = rate * g + momentum * v; g = (1 + momentum) * v' - momentum * v.
template <typename Dtype>
void NesterovUpdateGpu(int n, Dtype* g, Dtype* v, Dtype momentum, Dtype rate);

// AdaGrad: h += g^2; g = rate * g / (sqrt(h) + delta).
template <typename Dtype>
void AdaGradUpdateGpu(int n, Dtype* g, Dtype* h, Dtype delta, Dtype rate);

// RMSProp: h = decay * h + (1 - decay) * g^2; g = rate * g / (sqrt(h) + delta).
template <typename Dtype>
void RMSPropUpdateGpu(int n, Dtype* g, Dtype* h, Dtype rms_decay, Dtype delta, Dtype rate);

// AdaDelta: hg = E[g^2], hu = E[u^2] with decay `momentum`;
// u = g * sqrt((hu + delta) / (hg + delta)); g = rate * u.
template <typename Dtype>
void AdaDeltaUpdateGpu(int n, Dtype* g, Dtype* hg, Dtype* hu, Dtype momentum, Dtype delta,
                       Dtype rate);

// Adam: m, v the moment estimates; g = rate * m / (sqrt(v) + eps), where
// rate = local rate * sqrt(1 - beta2^t) / (1 - beta1^t).
template <typename Dtype>
void AdamUpdateGpu(int n, Dtype* g, Dtype* m, Dtype* v, Dtype beta1, Dtype beta2, Dtype eps,
                   Dtype rate);

}  // namespace deepspark
