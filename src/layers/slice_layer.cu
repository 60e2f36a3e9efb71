// Slice's GPU path: Concat's in reverse, one kernel launch per top copying
// its slab out of the bottom (forward) or back into it (backward), one value
// per thread (slab_copy.cuh). With one top, top and bottom share data and
// diff (Reshape), as on the CPU, and nothing moves.
#include "../core/cuda/slab_copy.cuh"
#include "deepspark/layers/slice_layer.hpp"

namespace deepspark {

template <typename Dtype>
void SliceLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  if (top.size() == 1) return;
  const int bottom_chunk = bottom[0]->shape(slice_axis_) * slice_input_size_;
  int offset = 0;  // along the slice axis
  for (auto* t : top) {
    const int top_chunk = t->shape(slice_axis_) * slice_input_size_;
    if (t->count() > 0) {
      CopySlabGpu(t->count(), false, top_chunk, bottom_chunk, offset * slice_input_size_,
                  bottom[0]->gpu_data(), t->mutable_gpu_data(), "Slice forward kernel");
    }
    offset += t->shape(slice_axis_);
  }
}

template <typename Dtype>
void SliceLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0] || top.size() == 1) return;
  const int bottom_chunk = bottom[0]->shape(slice_axis_) * slice_input_size_;
  Dtype* bottom_diff = bottom[0]->mutable_gpu_diff();
  int offset = 0;
  for (auto* t : top) {
    const int top_chunk = t->shape(slice_axis_) * slice_input_size_;
    if (t->count() > 0) {
      CopySlabGpu(t->count(), true, top_chunk, bottom_chunk, offset * slice_input_size_,
                  t->gpu_diff(), bottom_diff, "Slice backward kernel");
    }
    offset += t->shape(slice_axis_);
  }
}

DS_INSTANTIATE_GPU_PATHS(SliceLayer);

}  // namespace deepspark
