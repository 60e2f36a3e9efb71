// Concat's GPU path: one kernel launch per bottom copies that bottom's slab
// into its place in the top (forward) or back out of it (backward), one
// value per thread (slab_copy.cuh). With one bottom the top shares data and diff with it
// (Reshape), as on the CPU, and nothing moves.
#include "../core/cuda/slab_copy.cuh"
#include "deepspark/layers/concat_layer.hpp"

namespace deepspark {
template <typename Dtype>
void ConcatLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  if (bottom.size() == 1) return;
  const int top_chunk = top[0]->shape(concat_axis_) * concat_input_size_;
  if (top[0]->count() == 0) return;
  Dtype* top_data = top[0]->mutable_gpu_data();
  int offset = 0;  // along the concat axis
  for (auto* b : bottom) {
    const int bottom_chunk = b->shape(concat_axis_) * concat_input_size_;
    const int n = b->count();
    if (n > 0) {
      CopySlabGpu(n, true, bottom_chunk, top_chunk, offset * concat_input_size_, b->gpu_data(),
                  top_data, "Concat forward kernel");
    }
    offset += b->shape(concat_axis_);
  }
}

template <typename Dtype>
void ConcatLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<Dtype>*>& bottom) {
  if (bottom.size() == 1) return;
  const int top_chunk = top[0]->shape(concat_axis_) * concat_input_size_;
  if (top[0]->count() == 0) return;
  const Dtype* top_diff = top[0]->gpu_diff();
  int offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int bottom_chunk = bottom[i]->shape(concat_axis_) * concat_input_size_;
    const int n = bottom[i]->count();
    if (propagate_down[i] && n > 0) {
      CopySlabGpu(n, false, bottom_chunk, top_chunk, offset * concat_input_size_, top_diff,
                  bottom[i]->mutable_gpu_diff(), "Concat backward kernel");
    }
    offset += bottom[i]->shape(concat_axis_);
  }
}

DS_INSTANTIATE_GPU_PATHS(ConcatLayer);

}  // namespace deepspark
