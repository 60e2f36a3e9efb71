#include "deepspark/layers/crop_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void CropLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                               const std::vector<Blob<Dtype>*>& top) {
  const caffe::CropParameter& p = this->layer_param_.crop_param();
  const int n = bottom[0]->num_axes();
  REQUIRE(bottom[1]->num_axes() == n)
      << "Crop: bottom 0 of shape " << bottom[0]->shape_string() << " and bottom 1 of shape "
      << bottom[1]->shape_string() << " must have the same number of axes";
  REQUIRE(p.axis() >= -n && p.axis() < n)
      << "Crop: axis " << p.axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  const int start = bottom[0]->CanonicalAxisIndex(p.axis());
  REQUIRE(p.offset_size() <= 1 || p.offset_size() == n - start)
      << "Crop: " << p.offset_size() << " offsets given for " << n - start
      << " cropped axes; give none, one, or one per cropped axis";
  std::vector<int> top_shape = bottom[0]->shape();
  offsets_.assign(n, 0);
  for (int i = start; i < n; ++i) {
    int offset = 0;
    if (p.offset_size() == 1) offset = static_cast<int>(p.offset(0));
    if (p.offset_size() > 1) offset = static_cast<int>(p.offset(i - start));
    top_shape[i] = bottom[1]->shape(i);
    REQUIRE(offset >= 0 && offset + top_shape[i] <= bottom[0]->shape(i))
        << "Crop: on axis " << i << " a crop of " << top_shape[i] << " at offset " << offset
        << " does not fit in bottom 0 of shape " << bottom[0]->shape_string();
    offsets_[i] = offset;
  }
  top[0]->Reshape(top_shape);
}

template <typename Dtype>
void CropLayer<Dtype>::CopyRows(const Blob<Dtype>& big, const Blob<Dtype>& small, const Dtype* src,
                                Dtype* dst, bool to_small) const {
  const int n = small.num_axes();
  if (n == 0) {
    dst[0] = src[0];
    return;
  }
  const int row = small.shape(n - 1);
  const int rows = small.count() / std::max(row, 1);
  std::vector<int> idx(n, 0);  // index in `small`; the last axis stays 0
  std::vector<int> big_idx(n);
  for (int r = 0; r < rows && row > 0; ++r) {
    for (int a = 0; a < n; ++a) big_idx[a] = idx[a] + offsets_[a];
    const int big_off = big.offset(big_idx);
    const int small_off = small.offset(idx);
    if (to_small) {
      caffe_copy(row, src + big_off, dst + small_off);
    } else {
      caffe_copy(row, src + small_off, dst + big_off);
    }
    for (int a = n - 2; a >= 0; --a) {  // advance the multi-index
      if (++idx[a] < small.shape(a)) break;
      idx[a] = 0;
    }
  }
}

template <typename Dtype>
void CropLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  CopyRows(*bottom[0], *top[0], bottom[0]->cpu_data(), top[0]->mutable_cpu_data(), true);
}

template <typename Dtype>
void CropLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  caffe_set(bottom[0]->count(), Dtype(0), bottom_diff);
  CopyRows(*bottom[0], *top[0], top[0]->cpu_diff(), bottom_diff, false);
}

INSTANTIATE_CLASS(CropLayer);
REGISTER_LAYER_CLASS(Crop);

}  // namespace deepspark
