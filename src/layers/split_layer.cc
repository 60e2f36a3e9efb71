#include "deepspark/layers/split_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void SplitLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                const std::vector<Blob<Dtype>*>& top) {
  for (size_t i = 0; i < top.size(); ++i) {
    // In place would make the diff sum read and write the same buffer.
    REQUIRE(top[i] != bottom[0]) << "Split: in-place computation is not allowed (top " << i
                                 << " is the bottom)";
    top[i]->ReshapeLike(*bottom[0]);
    top[i]->ShareData(*bottom[0]);
  }
}

template <typename Dtype>
void SplitLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  // Data already shared by Reshape; re-share in case a top was re-pointed.
  for (auto* t : top) t->ShareData(*bottom[0]);
}

template <typename Dtype>
void SplitLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const int count = bottom[0]->count();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  caffe_copy(count, top[0]->cpu_diff(), bottom_diff);
  for (size_t i = 1; i < top.size(); ++i) {
    caffe_axpy(count, Dtype(1), top[i]->cpu_diff(), bottom_diff);
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(SplitLayer)
#endif

INSTANTIATE_CLASS(SplitLayer);
REGISTER_LAYER_CLASS(Split);

}  // namespace deepspark
