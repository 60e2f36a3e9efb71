// Crop: cuts bottom[0] down to bottom[1]'s shape on every axis from `axis`
// (default 2) on; axes before `axis` are kept. `offset` gives where the crop
// starts: none (0 everywhere), one value for all cropped axes, or one per
// cropped axis. Top: bottom[0]'s dims before axis, bottom[1]'s from axis on.
// Only bottom[0] gets a gradient (zero outside the crop).
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class CropLayer : public Layer<Dtype> {
 public:
  explicit CropLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Crop"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  // Copies every innermost row of the top's region; forward copies
  // bottom->top, backward top->bottom.
  void CopyRows(const Blob<Dtype>& big, const Blob<Dtype>& small, const Dtype* src, Dtype* dst,
                bool to_small) const;

  std::vector<int> offsets_;  // one per axis of bottom[0]
};

}  // namespace deepspark
