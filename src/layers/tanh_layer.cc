#include "deepspark/layers/tanh_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void TanHLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  ParallelForTranscendentals(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::tanh(x[i]);
    }
  });
}

template <typename Dtype>
void TanHLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* y = top[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      bottom_diff[i] = top_diff[i] * (Dtype(1) - y[i] * y[i]);
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(TanHLayer)
#endif

INSTANTIATE_CLASS(TanHLayer);
REGISTER_LAYER_CLASS(TanH);

}  // namespace deepspark
