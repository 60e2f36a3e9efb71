// Tile: repeats the bottom `tiles` times along `axis` (default 1): the block
// of axes [axis, end) is copied tiles times, so top.shape[axis] =
// bottom.shape[axis] * tiles. Backward sums the copies' diffs.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class TileLayer : public Layer<Dtype> {
 public:
  explicit TileLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Tile"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // tile_layer.cu

  int axis_ = 1, tiles_ = 1, outer_dim_ = 0, inner_dim_ = 0;
};

}  // namespace deepspark
