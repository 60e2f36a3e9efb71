#include "deepspark/layers/bnll_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

namespace {
// exp(min(x, 50)) keeps the backward pass finite; the derivative is 1 there.
constexpr double kBNLLThreshold = 50.;
}  // namespace

template <typename Dtype>
void BNLLLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = x[i] > 0 ? x[i] + std::log(Dtype(1) + std::exp(-x[i]))
                      : std::log(Dtype(1) + std::exp(x[i]));
    }
  });
}

template <typename Dtype>
void BNLLLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Dtype e = std::exp(std::min(x[i], Dtype(kBNLLThreshold)));
      bottom_diff[i] = top_diff[i] * e / (e + Dtype(1));
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(BNLLLayer)
#endif

INSTANTIATE_CLASS(BNLLLayer);
REGISTER_LAYER_CLASS(BNLL);

}  // namespace deepspark
