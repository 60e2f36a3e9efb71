// Layer: the unit of computation, with Caffe's lifecycle. A Net calls
// SetUp once (blob-count check, LayerSetUp, Reshape, loss weights), then
// Forward/Backward each iteration. Forward calls Reshape first, so layers
// adapt to changed bottom shapes.
//
// Errors a user can cause (bad parameters or shapes in a prototxt) are thrown
// as deepspark::Error; the Net prefixes the layer's name and type.
// Thread safety: a Layer is used by one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

template <typename Dtype>
class Layer {
 public:
  // Parameter blobs stored in param.blobs() are loaded here (shape from the
  // proto); otherwise LayerSetUp creates and fills them.
  explicit Layer(const caffe::LayerParameter& param);
  virtual ~Layer() = default;

  void SetUp(const std::vector<Blob<Dtype>*>& bottom, const std::vector<Blob<Dtype>*>& top);

  // Layer-specific one-time setup: read parameters, create parameter blobs.
  virtual void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                          const std::vector<Blob<Dtype>*>& top) {}
  // Shapes the tops (and internal buffers) from the bottoms.
  virtual void Reshape(const std::vector<Blob<Dtype>*>& bottom,
                       const std::vector<Blob<Dtype>*>& top) = 0;

  // Computes the tops; returns the weighted loss this layer contributes.
  Dtype Forward(const std::vector<Blob<Dtype>*>& bottom, const std::vector<Blob<Dtype>*>& top);
  // Computes bottom diffs (where propagate_down[i]) and parameter diffs
  // (accumulated, where param_propagate_down) from the top diffs.
  void Backward(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Blob<Dtype>*>& bottom);

  std::vector<std::shared_ptr<Blob<Dtype>>>& blobs() { return blobs_; }
  const caffe::LayerParameter& layer_param() const { return layer_param_; }
  caffe::LayerParameter* mutable_layer_param() { return &layer_param_; }
  // Writes the layer parameter with its current blobs.
  virtual void ToProto(caffe::LayerParameter* param, bool write_diff = false);

  Dtype loss(int top_index) const {
    return top_index < static_cast<int>(loss_.size()) ? loss_[top_index] : Dtype(0);
  }
  void set_loss(int top_index, Dtype value) {
    if (static_cast<int>(loss_.size()) <= top_index) loss_.resize(top_index + 1, Dtype(0));
    loss_[top_index] = value;
  }

  // The prototxt type string.
  virtual const char* type() const { return ""; }

  // Blob-count contracts (-1: no constraint), checked by SetUp.
  virtual int ExactNumBottomBlobs() const { return -1; }
  virtual int MinBottomBlobs() const { return -1; }
  virtual int MaxBottomBlobs() const { return -1; }
  virtual int ExactNumTopBlobs() const { return -1; }
  virtual int MinTopBlobs() const { return -1; }
  virtual int MaxTopBlobs() const { return -1; }
  virtual bool EqualNumBottomTopBlobs() const { return false; }
  // If true, the Net creates anonymous tops up to MinTopBlobs/ExactNumTopBlobs.
  virtual bool AutoTopBlobs() const { return false; }
  // Whether force_backward may make this bottom get a gradient (false for
  // labels and other non-differentiable inputs).
  virtual bool AllowForceBackward(int bottom_index) const { return true; }

  bool param_propagate_down(int param_id) const {
    return param_id < static_cast<int>(param_propagate_down_.size())
               ? param_propagate_down_[param_id]
               : false;
  }
  void set_param_propagate_down(int param_id, bool value) {
    if (static_cast<int>(param_propagate_down_.size()) <= param_id)
      param_propagate_down_.resize(param_id + 1, true);
    param_propagate_down_[param_id] = value;
  }

  caffe::Phase phase() const { return phase_; }

  // Data layers only: the layer has already delivered `batches` batches
  // (a resumed run); the next batch must be the one an uninterrupted run
  // would read next. Default: nothing to do.
  virtual void SeekData(uint64_t batches) {}

 protected:
  virtual void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                           const std::vector<Blob<Dtype>*>& top) = 0;
  virtual void Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                            const std::vector<bool>& propagate_down,
                            const std::vector<Blob<Dtype>*>& bottom) = 0;
  // The GPU paths, run in ComputeMode::kGpu (gpu.hpp). By default the CPU
  // ones: the blobs' SyncedMemory copies whatever the other side changed, so
  // a layer without GPU code still gives the right numbers on the GPU path.
  virtual void Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                           const std::vector<Blob<Dtype>*>& top) {
    Forward_cpu(bottom, top);
  }
  virtual void Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                            const std::vector<bool>& propagate_down,
                            const std::vector<Blob<Dtype>*>& bottom) {
    Backward_cpu(top, propagate_down, bottom);
  }

  void CheckBlobCounts(const std::vector<Blob<Dtype>*>& bottom,
                       const std::vector<Blob<Dtype>*>& top);
  // Reads loss_weight from the layer parameter into the tops' diffs (so that
  // backward starts from d(loss)/d(top) = loss_weight).
  void SetLossWeights(const std::vector<Blob<Dtype>*>& top);

  caffe::LayerParameter layer_param_;
  caffe::Phase phase_;
  std::vector<std::shared_ptr<Blob<Dtype>>> blobs_;
  std::vector<bool> param_propagate_down_;
  std::vector<Dtype> loss_;

  DISABLE_COPY_AND_ASSIGN(Layer);
};

}  // namespace deepspark

// In a layer's class (protected): it has GPU code of its own.
#define DS_DECLARE_GPU_PATHS                                                                       \
  void Forward_gpu(const std::vector<Blob<Dtype>*>& bottom, const std::vector<Blob<Dtype>*>& top)  \
      override;                                                                                    \
  void Backward_gpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down, \
                    const std::vector<Blob<Dtype>*>& bottom) override

// In the layer's .cu, after the definitions.
#define DS_INSTANTIATE_GPU_PATHS(classname)                                        \
  template void classname<float>::Forward_gpu(const std::vector<Blob<float>*>&,    \
                                              const std::vector<Blob<float>*>&);   \
  template void classname<double>::Forward_gpu(const std::vector<Blob<double>*>&,  \
                                               const std::vector<Blob<double>*>&); \
  template void classname<float>::Backward_gpu(const std::vector<Blob<float>*>&,   \
                                               const std::vector<bool>&,           \
                                               const std::vector<Blob<float>*>&);  \
  template void classname<double>::Backward_gpu(const std::vector<Blob<double>*>&, \
                                                const std::vector<bool>&,          \
                                                const std::vector<Blob<double>*>&)

// A layer that declares Forward_gpu/Backward_gpu defines them in its .cu; a
// build without CUDA compiles no .cu, so its .cc says this instead: the GPU
// paths are the CPU ones (never reached there: no GPU mode without a GPU).
#define DS_GPU_PATHS_ARE_CPU(classname)                                          \
  template <typename Dtype>                                                      \
  void classname<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,    \
                                     const std::vector<Blob<Dtype>*>& top) {     \
    Forward_cpu(bottom, top);                                                    \
  }                                                                              \
  template <typename Dtype>                                                      \
  void classname<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,      \
                                      const std::vector<bool>& propagate_down,   \
                                      const std::vector<Blob<Dtype>*>& bottom) { \
    Backward_cpu(top, propagate_down, bottom);                                   \
  }
