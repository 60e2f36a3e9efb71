// Bias: adds a bias broadcast over the bottom:
//   top[o, d, i] = bottom[o, d, i] + bias[d],
// where the bias covers bottom axes [axis, axis + bias.num_axes), o runs over
// the axes before and i over the axes after.
// With 2 bottoms the bias is bottom[1]; with 1 bottom it is a learned blob of
// shape bottom.shape[axis : axis + num_axes] (num_axes -1: to the end; 0: a
// scalar), filled with bias_param.filler (default constant 0).
// In place allowed.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <string>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

// Shape rules shared by Bias and Scale.
namespace broadcast {
// The learned blob's shape: bottom.shape[axis : axis + num_axes].
std::vector<int> ParamShape(const std::vector<int>& bottom_shape, int axis, int num_axes,
                            const char* layer_type);
// outer/dim/inner of bottom around a factor of shape factor_shape at `axis`
// (axis ignored for a 0-axis factor); throws if the shapes do not line up.
void Dims(const std::vector<int>& bottom_shape, const std::vector<int>& factor_shape, int axis,
          const char* layer_type, int* outer, int* dim, int* inner);
// A stored blob (from a model file) fits `shape` if it has that shape or, as
// with legacy 4-d dims, the same count; then it is given that shape.
template <typename Dtype>
bool FitStoredBlob(Blob<Dtype>* blob, const std::vector<int>& shape) {
  if (blob->shape() == shape) return true;
  long long count = 1;
  for (int d : shape) count *= d;
  if (blob->count() != count) return false;
  blob->Reshape(shape);
  return true;
}
}  // namespace broadcast

template <typename Dtype>
class BiasLayer : public Layer<Dtype> {
 public:
  explicit BiasLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Bias"; }
  int MinBottomBlobs() const override { return 1; }
  int MaxBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // bias_layer.cu

  int outer_dim_ = 0, bias_dim_ = 0, inner_dim_ = 0;
};

}  // namespace deepspark
