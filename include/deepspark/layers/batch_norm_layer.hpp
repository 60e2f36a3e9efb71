// BatchNorm: normalizes each channel (axis 1) to zero mean and unit variance:
//   y = (x - mean) / sqrt(var + eps).
// Bottom and top: (N, C, ...) of the same shape (in place allowed); a 1-axis
// bottom is treated as one channel. There is no learned affine; a Scale layer
// follows in Caffe nets.
// Training (use_global_stats false, the default outside TEST): batch mean and
// biased batch variance over N and the spatial axes (m = count / C values),
// and the running statistics are updated:
//   blob2 = maf * blob2 + 1, blob0 = mean + maf * blob0,
//   blob1 = m/(m-1) * var + maf * blob1     (maf = moving_average_fraction).
// Global stats: mean = blob0 / blob2, var = blob1 / blob2 (factor 0 if blob2 is 0).
// Blobs: 0 mean sum (C), 1 variance sum (C), 2 scale factor (1); they are
// statistics, not learned: lr_mult is forced to 0 and no gradient is computed.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class BatchNormLayer : public Layer<Dtype> {
 public:
  explicit BatchNormLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "BatchNorm"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // batch_norm_layer.cu

  // mean_ and var_ (biased, without eps) of this batch, or the running
  // statistics under use_global_stats; a training batch also updates the
  // running sums in blobs 0..2.
  void ComputeStatistics(const Dtype* x, int num, int spatial);
  // var_ += eps and inv_std_ = 1 / sqrt(var_).
  void AddEpsilon();

  bool use_global_stats_ = false;
  Dtype moving_average_fraction_ = Dtype(0.999);
  Dtype eps_ = Dtype(1e-5);
  int channels_ = 0;
  std::vector<Dtype> mean_, var_;           // per channel; var_ holds var + eps after forward
  std::vector<Dtype> inv_std_;              // 1 / sqrt(var + eps) per channel
  std::vector<Dtype> mean_dy_, mean_dy_y_;  // Backward: per-channel means of dy, dy * y
  Blob<Dtype> x_norm_;                      // normalized output, kept for backward (in place safe)
  // The GPU path's per-channel values, 5 x C: mean, var + eps, inv_std,
  // mean(dy), mean(dy * y) (the vectors above are the CPU path's).
  Blob<Dtype> stats_gpu_;
};

}  // namespace deepspark
