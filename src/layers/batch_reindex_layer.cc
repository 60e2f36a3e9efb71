#include "deepspark/layers/batch_reindex_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void BatchReindexLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 1) << "BatchReindex: data must have at least one axis";
  REQUIRE(bottom[1]->num_axes() == 1)
      << "BatchReindex: the index bottom must be 1-d, got shape " << bottom[1]->shape_string();
  std::vector<int> shape = bottom[0]->shape();
  shape[0] = bottom[1]->shape(0);
  top[0]->Reshape(shape);
}

template <typename Dtype>
std::vector<int> BatchReindexLayer<Dtype>::Indices(const std::vector<Blob<Dtype>*>& bottom) const {
  const Dtype* p = bottom[1]->cpu_data();
  const int n = bottom[0]->shape(0);
  std::vector<int> idx(bottom[1]->count());
  for (size_t k = 0; k < idx.size(); ++k) {
    REQUIRE(p[k] == std::floor(p[k]) && p[k] >= 0 && p[k] < n)
        << "BatchReindex: index " << k << " = " << p[k] << " is not an integer in [0, " << n << ")";
    idx[k] = static_cast<int>(p[k]);
  }
  return idx;
}

template <typename Dtype>
void BatchReindexLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                           const std::vector<Blob<Dtype>*>& top) {
  const std::vector<int> idx = Indices(bottom);
  const int inner = bottom[0]->count(1);
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  for (size_t k = 0; k < idx.size(); ++k) caffe_copy(inner, x + idx[k] * inner, y + k * inner);
}

template <typename Dtype>
void BatchReindexLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                            const std::vector<bool>& propagate_down,
                                            const std::vector<Blob<Dtype>*>& bottom) {
  // The indices are not differentiable; their diff is left alone.
  if (!propagate_down[0]) return;
  const std::vector<int> idx = Indices(bottom);
  const int inner = bottom[0]->count(1);
  const Dtype* dy = top[0]->cpu_diff();
  Dtype* dx = bottom[0]->mutable_cpu_diff();
  caffe_set(bottom[0]->count(), Dtype(0), dx);
  for (size_t k = 0; k < idx.size(); ++k) {
    caffe_axpy(inner, Dtype(1), dy + k * inner, dx + idx[k] * inner);
  }
}

INSTANTIATE_CLASS(BatchReindexLayer);
REGISTER_LAYER_CLASS(BatchReindex);

}  // namespace deepspark
