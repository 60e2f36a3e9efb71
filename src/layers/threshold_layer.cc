#include "deepspark/layers/threshold_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void ThresholdLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  threshold_ = this->layer_param_.threshold_param().threshold();
}

template <typename Dtype>
void ThresholdLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = (x[i] > threshold_) ? Dtype(1) : Dtype(0);
    }
  });
}

template <typename Dtype>
void ThresholdLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[0]) << "Threshold layer cannot backpropagate (it is not "
                              << "differentiable); put it where no gradient is needed";
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ThresholdLayer)
#endif

INSTANTIATE_CLASS(ThresholdLayer);
REGISTER_LAYER_CLASS(Threshold);

}  // namespace deepspark
