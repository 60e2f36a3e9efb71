// Split's GPU path: forward is the CPU's (the tops share the bottom's
// memory, wherever it lives: no values move); backward sums the tops' diffs
// on the device, in the CPU's order (copy top 0, then add tops 1.. by axpy).
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/split_layer.hpp"

namespace deepspark {

template <typename Dtype>
void SplitLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  Forward_cpu(bottom, top);  // shares SyncedMemory; touches no values
}

template <typename Dtype>
void SplitLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  const int count = bottom[0]->count();
  if (!propagate_down[0] || count == 0) return;
  Dtype* bottom_diff = bottom[0]->mutable_gpu_diff();
  caffe_gpu_copy(count, top[0]->gpu_diff(), bottom_diff);
  for (size_t i = 1; i < top.size(); ++i) {
    caffe_gpu_axpy(count, Dtype(1), top[i]->gpu_diff(), bottom_diff);
  }
}

DS_INSTANTIATE_GPU_PATHS(SplitLayer);

}  // namespace deepspark
