#include "deepspark/layers/bias_layer.hpp"

#include <sstream>

#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"

namespace deepspark {
namespace broadcast {

namespace {
std::string ShapeString(const std::vector<int>& shape) {
  std::ostringstream s;
  long long count = 1;
  for (int d : shape) {
    s << d << " ";
    count *= d;
  }
  s << "(" << count << ")";
  return s.str();
}
}  // namespace

std::vector<int> ParamShape(const std::vector<int>& bottom_shape, int axis, int num_axes,
                            const char* layer_type) {
  const int n = static_cast<int>(bottom_shape.size());
  REQUIRE(axis >= -n && axis < n) << layer_type << ": axis " << axis
                                  << " out of range for bottom of shape "
                                  << ShapeString(bottom_shape);
  const int start = axis < 0 ? axis + n : axis;
  REQUIRE(num_axes >= -1) << layer_type << ": num_axes " << num_axes
                          << " must be >= 0, or -1 to extend to the end of the bottom";
  const int end = num_axes == -1 ? n : start + num_axes;
  REQUIRE(end <= n) << layer_type << ": axis " << axis << " with num_axes " << num_axes
                    << " goes past the last axis of bottom of shape " << ShapeString(bottom_shape);
  return std::vector<int>(bottom_shape.begin() + start, bottom_shape.begin() + end);
}

void Dims(const std::vector<int>& bottom_shape, const std::vector<int>& factor_shape, int axis,
          const char* layer_type, int* outer, int* dim, int* inner) {
  const int n = static_cast<int>(bottom_shape.size());
  const int k = static_cast<int>(factor_shape.size());
  int start = 0;  // a scalar factor broadcasts the same from any axis
  if (k > 0) {
    REQUIRE(axis >= -n && axis < n)
        << layer_type << ": axis " << axis << " out of range for bottom of shape "
        << ShapeString(bottom_shape);
    start = axis < 0 ? axis + n : axis;
  }
  bool ok = start + k <= n;
  for (int i = 0; ok && i < k; ++i) ok = bottom_shape[start + i] == factor_shape[i];
  REQUIRE(ok) << layer_type << ": factor of shape " << ShapeString(factor_shape)
              << " does not match bottom of shape " << ShapeString(bottom_shape)
              << " starting at axis " << start;
  *outer = 1;
  *dim = 1;
  *inner = 1;
  for (int i = 0; i < start; ++i) *outer *= bottom_shape[i];
  for (int i = 0; i < k; ++i) *dim *= factor_shape[i];
  for (int i = start + k; i < n; ++i) *inner *= bottom_shape[i];
}

}  // namespace broadcast

template <typename Dtype>
void BiasLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  if (bottom.size() > 1) return;  // the bias is bottom[1]
  const caffe::BiasParameter& p = this->layer_param_.bias_param();
  const std::vector<int> shape =
      broadcast::ParamShape(bottom[0]->shape(), p.axis(), p.num_axes(), "Bias");
  if (!this->blobs_.empty()) {
    REQUIRE(this->blobs_.size() == 1 && broadcast::FitStoredBlob(this->blobs_[0].get(), shape))
        << "Bias: stored bias blob has the wrong shape (expected one blob of " << shape.size()
        << " axes matching the bottom from axis " << p.axis() << ")";
  } else {
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>(shape));
    GetFiller<Dtype>(p.filler())->Fill(this->blobs_[0].get());
  }
  this->set_param_propagate_down(0, true);
}

template <typename Dtype>
void BiasLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                               const std::vector<Blob<Dtype>*>& top) {
  const Blob<Dtype>* bias = bottom.size() > 1 ? bottom[1] : this->blobs_[0].get();
  broadcast::Dims(bottom[0]->shape(), bias->shape(), this->layer_param_.bias_param().axis(), "Bias",
                  &outer_dim_, &bias_dim_, &inner_dim_);
  if (bottom[0] != top[0]) top[0]->ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void BiasLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bias = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->cpu_data();
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  for (int o = 0; o < outer_dim_; ++o) {
    for (int d = 0; d < bias_dim_; ++d) {
      const int off = (o * bias_dim_ + d) * inner_dim_;
      for (int i = 0; i < inner_dim_; ++i) y[off + i] = x[off + i] + bias[d];
    }
  }
}

template <typename Dtype>
void BiasLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  const Dtype* dy = top[0]->cpu_diff();
  if (propagate_down[0] && bottom[0] != top[0]) {
    caffe_copy(bottom[0]->count(), dy, bottom[0]->mutable_cpu_diff());
  }
  const bool bias_param = bottom.size() == 1;
  if ((bias_param && this->param_propagate_down(0)) || (!bias_param && propagate_down[1])) {
    Blob<Dtype>* bias = bias_param ? this->blobs_[0].get() : bottom[1];
    Dtype* db = bias->mutable_cpu_diff();
    // A learned blob accumulates its gradient; a bottom's diff is overwritten.
    if (!bias_param) caffe_set(bias_dim_, Dtype(0), db);
    for (int o = 0; o < outer_dim_; ++o) {
      for (int d = 0; d < bias_dim_; ++d) {
        const int off = (o * bias_dim_ + d) * inner_dim_;
        Dtype sum = 0;
        for (int i = 0; i < inner_dim_; ++i) sum += dy[off + i];
        db[d] += sum;
      }
    }
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(BiasLayer)
#endif

INSTANTIATE_CLASS(BiasLayer);
REGISTER_LAYER_CLASS(Bias);

}  // namespace deepspark
