#include "deepspark/layers/elu_layer.hpp"

#include <algorithm>
#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void ELULayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  const Dtype alpha = this->layer_param_.elu_param().alpha();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::max(x[i], Dtype(0)) + alpha * (std::exp(std::min(x[i], Dtype(0))) - Dtype(1));
    }
  });
}

template <typename Dtype>
void ELULayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* y = top[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  const Dtype alpha = this->layer_param_.elu_param().alpha();
  // For x <= 0, dy/dx = alpha * exp(x) = y + alpha.
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      bottom_diff[i] = top_diff[i] * ((x[i] > 0) + (alpha + y[i]) * (x[i] <= 0));
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ELULayer)
#endif

INSTANTIATE_CLASS(ELULayer);
REGISTER_LAYER_CLASS(ELU);

}  // namespace deepspark
