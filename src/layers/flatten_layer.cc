#include "deepspark/layers/flatten_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void FlattenLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(top[0] != bottom[0]) << "Flatten: in-place computation is not allowed";
  const caffe::FlattenParameter& p = this->layer_param_.flatten_param();
  const int n = bottom[0]->num_axes();
  REQUIRE(p.axis() >= -n && p.axis() < n)
      << "Flatten: axis " << p.axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  REQUIRE(p.end_axis() >= -n && p.end_axis() < n)
      << "Flatten: end_axis " << p.end_axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  const int start = bottom[0]->CanonicalAxisIndex(p.axis());
  const int end = bottom[0]->CanonicalAxisIndex(p.end_axis());
  REQUIRE(start <= end) << "Flatten: axis " << p.axis() << " comes after end_axis " << p.end_axis()
                        << " for bottom of shape " << bottom[0]->shape_string();
  std::vector<int> top_shape(bottom[0]->shape().begin(), bottom[0]->shape().begin() + start);
  top_shape.push_back(bottom[0]->count(start, end + 1));
  for (int i = end + 1; i < n; ++i) top_shape.push_back(bottom[0]->shape(i));
  top[0]->Reshape(top_shape);
  top[0]->ShareData(*bottom[0]);
  top[0]->ShareDiff(*bottom[0]);
}

INSTANTIATE_CLASS(FlattenLayer);
REGISTER_LAYER_CLASS(Flatten);

}  // namespace deepspark
