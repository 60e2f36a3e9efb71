#include "deepspark/layers/reshape_layer.hpp"

#include <climits>

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void ReshapeLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(top[0] != bottom[0]) << "Reshape: in-place computation is not allowed";
  copy_axes_.clear();
  inferred_axis_ = -1;
  constant_count_ = 1;
  const caffe::BlobShape& shape = this->layer_param_.reshape_param().shape();
  for (int i = 0; i < shape.dim_size(); ++i) {
    const long long dim = shape.dim(i);
    if (dim == 0) {
      copy_axes_.push_back(i);
    } else if (dim == -1) {
      REQUIRE(inferred_axis_ == -1) << "Reshape: new shape has -1 at both dim " << inferred_axis_
                                    << " and dim " << i << "; at most one dim may be inferred";
      inferred_axis_ = i;
    } else {
      REQUIRE(dim > 0) << "Reshape: dim " << i << " of the new shape is " << dim
                       << "; dims must be positive, 0 (copy) or -1 (infer)";
      constant_count_ *= dim;
    }
  }
}

template <typename Dtype>
void ReshapeLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  const caffe::ReshapeParameter& p = this->layer_param_.reshape_param();
  const caffe::BlobShape& shape = p.shape();
  const int n = bottom[0]->num_axes();
  // axis counts from the end when negative; -1 means "after the last axis".
  const int start = p.axis() >= 0 ? p.axis() : n + p.axis() + 1;
  REQUIRE(start >= 0 && start <= n)
      << "Reshape: axis " << p.axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  REQUIRE(p.num_axes() >= -1) << "Reshape: num_axes must be >= 0, or -1 for all remaining axes";
  const int end = p.num_axes() == -1 ? n : start + p.num_axes();
  REQUIRE(end <= n) << "Reshape: axis " << p.axis() << " with num_axes " << p.num_axes()
                    << " goes past the last axis of bottom of shape " << bottom[0]->shape_string();
  std::vector<int> top_shape(bottom[0]->shape().begin(), bottom[0]->shape().begin() + start);
  for (int i = 0; i < shape.dim_size(); ++i) top_shape.push_back(static_cast<int>(shape.dim(i)));
  for (int i = end; i < n; ++i) top_shape.push_back(bottom[0]->shape(i));
  for (int c : copy_axes_) {
    REQUIRE(start + c < n) << "Reshape: dim " << c << " is 0 (copy) but bottom of shape "
                           << bottom[0]->shape_string() << " has no axis " << start + c;
    top_shape[start + c] = bottom[0]->shape(start + c);
  }
  if (inferred_axis_ >= 0) {
    // An empty bottom (a batch of 0) leaves the -1 undetermined: it is
    // inferred as for the same shape with its 0 dims taken as 1, so {0, -1}
    // turns 0 x 3 x 4 x 5 into 0 x 60, as it turns a batch of 1 into 1 x 60.
    const bool empty = bottom[0]->count() == 0;
    auto dim = [&](int axis) -> long long {
      const long long d = bottom[0]->shape(axis);
      return empty && d == 0 ? 1 : d;
    };
    long long bottom_count = 1, explicit_count = constant_count_;
    for (int i = 0; i < n; ++i) {
      bottom_count *= dim(i);
      if (i < start || i >= end) explicit_count *= dim(i);
      REQUIRE(bottom_count <= INT_MAX && explicit_count <= INT_MAX)
          << "Reshape: bottom of shape " << bottom[0]->shape_string() << " is too large";
    }
    for (int c : copy_axes_) explicit_count *= dim(start + c);
    REQUIRE(explicit_count > 0 && bottom_count % explicit_count == 0)
        << "Reshape: cannot infer the -1 dim: bottom count " << bottom[0]->count() << " (shape "
        << bottom[0]->shape_string() << ") is not divisible by " << explicit_count;
    top_shape[start + inferred_axis_] = static_cast<int>(bottom_count / explicit_count);
  }
  long long top_count = 1;
  for (int d : top_shape) top_count *= d;
  REQUIRE(top_count == bottom[0]->count())
      << "Reshape: new shape has " << top_count << " elements but bottom of shape "
      << bottom[0]->shape_string() << " has " << bottom[0]->count();
  top[0]->Reshape(top_shape);
  top[0]->ShareData(*bottom[0]);
  top[0]->ShareDiff(*bottom[0]);
}

INSTANTIATE_CLASS(ReshapeLayer);
REGISTER_LAYER_CLASS(Reshape);

}  // namespace deepspark
