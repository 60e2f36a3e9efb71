#include "deepspark/layers/clip_layer.hpp"

#include <algorithm>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void ClipLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const caffe::ClipParameter& p = this->layer_param_.clip_param();
  REQUIRE(this->layer_param_.has_clip_param() && p.has_min() && p.has_max())
      << "Clip layer needs clip_param { min: ... max: ... }";
  REQUIRE(p.min() < p.max()) << "Clip layer: min (" << p.min() << ") must be less than max ("
                             << p.max() << ")";
}

template <typename Dtype>
void ClipLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  const Dtype lo = this->layer_param_.clip_param().min();
  const Dtype hi = this->layer_param_.clip_param().max();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      y[i] = std::max(lo, std::min(x[i], hi));
    }
  });
}

template <typename Dtype>
void ClipLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* x = bottom[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  const Dtype lo = this->layer_param_.clip_param().min();
  const Dtype hi = this->layer_param_.clip_param().max();
  ParallelForElements(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      bottom_diff[i] = top_diff[i] * (x[i] >= lo && x[i] <= hi);
    }
  });
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(ClipLayer)
#endif

INSTANTIATE_CLASS(ClipLayer);
REGISTER_LAYER_CLASS(Clip);

}  // namespace deepspark
