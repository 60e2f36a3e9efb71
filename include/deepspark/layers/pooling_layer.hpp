// Pooling (type "Pooling") over the two spatial axes of a 4-D bottom
// (N, C, H, W) -> top (N, C, PH, PW), with Caffe's output size:
//   CEIL (default): PH = ceil((H + 2*pad_h - kernel_h) / stride_h) + 1,
//   FLOOR: floor instead; then, if pad > 0 and (PH-1)*stride_h >= H + pad_h,
//   PH is decremented (the last window must start inside the image).
// MAX: the max over the window clipped to the image (padding never wins);
//   an optional 2nd top holds the argmax index h*W+w (as Dtype).
// AVE: the sum over the clipped window divided by the window size clipped to
//   H+pad / W+pad (so cells of the right/bottom padding count).
// STOCHASTIC (Caffe has it on GPU only): TRAIN picks one cell of the window
//   with probability proportional to its (non-negative) value; TEST outputs
//   sum(x^2)/sum(x) (0 if the sum is not positive). No padding allowed.
// global_pooling: the kernel is the whole H x W.
// A window wholly outside the image (CEIL rounding with stride > kernel and
// no pad) gives -FLT_MAX for MAX, as in Caffe, and 0 for AVE (Caffe: 0/0) and
// STOCHASTIC; it passes no gradient.
//
// Thread safety: one thread per instance (it keeps argmax/sample indices).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class PoolingLayer : public Layer<Dtype> {
 public:
  explicit PoolingLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Pooling"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }
  // MAX can write the argmax mask as a second top.
  int MaxTopBlobs() const override {
    return this->layer_param_.pooling_param().pool() == caffe::PoolingParameter_PoolMethod_MAX ? 2
                                                                                               : 1;
  }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  // MAX and AVE on the GPU (pooling_layer.cu); STOCHASTIC runs its CPU code.
  DS_DECLARE_GPU_PATHS;

 private:
  // An AVE window clipped to the image, and the size of the padded window
  // it divides by (Caffe counts the padding cells).
  struct AveWindow {
    int hstart, hend, wstart, wend, pool_size;
    bool empty() const { return hstart >= hend || wstart >= wend; }
  };
  AveWindow AveWindowAt(int ph, int pw) const;
  void ForwardStochastic(const Dtype* bottom_data, Dtype* top_data, bool train);
  void BackwardStochastic(const Dtype* top_diff, const Dtype* bottom_data, Dtype* bottom_diff);

 protected:
  int kernel_h_ = 0, kernel_w_ = 0;
  int stride_h_ = 1, stride_w_ = 1;
  int pad_h_ = 0, pad_w_ = 0;
  int channels_ = 0;
  int height_ = 0, width_ = 0;
  int pooled_height_ = 0, pooled_width_ = 0;
  bool global_pooling_ = false;
  // Argmax (MAX without a mask top) or sampled index (STOCHASTIC TRAIN) of
  // every output, as h*W+w within its channel.
  std::vector<int> index_;
  // The GPU path's MAX argmax when there is no mask top (indices as Dtype).
  Blob<Dtype> gpu_mask_;

 private:
  // STOCHASTIC: whether the last forward ran in TRAIN mode (sampling).
  bool sampled_ = false;
};

}  // namespace deepspark
