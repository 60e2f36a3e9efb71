#include "deepspark/layers/swish_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void SwishLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  NeuronLayer<Dtype>::Reshape(bottom, top);
  sigmoid_output_.ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void SwishLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* s = sigmoid_output_.mutable_cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  const Dtype beta = this->layer_param_.swish_param().beta();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      s[i] = Dtype(0.5) * std::tanh(Dtype(0.5) * (beta * x[i])) + Dtype(0.5);
      y[i] = x[i] * s[i];
    }
  });
}

template <typename Dtype>
void SwishLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* y = top[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* s = sigmoid_output_.cpu_data();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  const Dtype beta = this->layer_param_.swish_param().beta();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Dtype swish_x = y[i];
      bottom_diff[i] = top_diff[i] * (beta * swish_x + s[i] * (Dtype(1) - beta * swish_x));
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SwishLayer)
#endif

INSTANTIATE_CLASS(SwishLayer);
REGISTER_LAYER_CLASS(Swish);

}  // namespace deepspark
