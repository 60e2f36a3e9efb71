// Eltwise: combines K >= 2 bottoms of one shape element by element into one
// top of that shape.
//   SUM (default): top = sum_k coeff_k * bottom_k (coeff defaults to 1; if
//     given, one per bottom; rejected for PROD, ignored for MAX, as in Caffe).
//   PROD: top = prod_k bottom_k. Backward with stable_prod_grad (default)
//     multiplies the other bottoms; otherwise divides top by the bottom.
//   MAX: top = max_k bottom_k; the first bottom holding the maximum wins and
//     is remembered in an index mask; backward routes the diff to it alone.
//
// Thread safety: none (one thread per layer).
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layer.hpp"
#include "deepspark/syncedmem.hpp"

namespace deepspark {

template <typename Dtype>
class EltwiseLayer : public Layer<Dtype> {
 public:
  explicit EltwiseLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "Eltwise"; }
  int MinBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;
  DS_DECLARE_GPU_PATHS;  // eltwise_layer.cu

  caffe::EltwiseParameter::EltwiseOp op_ = caffe::EltwiseParameter::SUM;
  std::vector<Dtype> coeffs_;
  bool stable_prod_grad_ = true;
  // MAX: which bottom won each element (count() ints), where the last
  // forward ran: host or device (regrown, never shrunk, by Reshape).
  std::unique_ptr<SyncedMemory> max_idx_;
};

}  // namespace deepspark
