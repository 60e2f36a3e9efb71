// SPP (spatial pyramid pooling, type "SPP"): pools a 4-D bottom (N, C, H, W)
// at spp_param.pyramid_height levels and concatenates the results, so that
// bottoms of any H x W give a top of one fixed size.
// Level l divides each side into bins = 2^l cells: kernel = ceil(H / bins),
// stride = kernel, pad = (kernel * bins - H + 1) / 2 (the same for W), which
// always gives bins x bins outputs. Each level's (N, C, bins, bins) is
// flattened to (N, C * bins^2) and the levels are concatenated in order:
//   top (N, C * sum_{l < height} 4^l).
// pyramid_height 1 is Caffe's special case, one global pooling whose output
// is not flattened: top (N, C, 1, 1).
// spp_param.pool (MAX, AVE, STOCHASTIC) and engine go to the Pooling layers;
// STOCHASTIC samples in TRAIN and averages in TEST by this layer's phase
// (Caffe's internal layers are always TRAIN, so Caffe's GPU code samples in
// TEST too), and, as Pooling refuses padding for it in Caffe and here, needs
// H and W divisible by 2^(pyramid_height - 1). A bottom too small for the pyramid (a level whose
// pad reaches the kernel, e.g. H = 5 with 4 bins) is an error, as in Caffe. Built, as Caffe builds
// it, from internal Split, Pooling, Flatten and Concat layers; the Pooling layers are rebuilt when
// H or W change.
//
// Thread safety: one thread per instance.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class SPPLayer : public Layer<Dtype> {
 public:
  explicit SPPLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "SPP"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  // The Pooling parameter of pyramid level `level` for an H x W bottom.
  static caffe::LayerParameter PoolingParamFor(const caffe::LayerParameter& spp, int level,
                                               int height, int width);

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

 private:
  // (Re)creates and sets up the Pooling layers for the bottom's H x W.
  void BuildPooling(const std::vector<Blob<Dtype>*>& bottom, const std::vector<Blob<Dtype>*>& top);

  int pyramid_height_ = 0;
  int height_ = -1, width_ = -1;  // the H x W the Pooling layers were built for
  std::shared_ptr<Layer<Dtype>> split_, concat_;
  std::vector<std::shared_ptr<Layer<Dtype>>> pooling_, flatten_;
  // Per level: the split's top (the bottom's data, its own diff), the pooled
  // (N, C, bins, bins) and its flattened (N, C * bins^2) view.
  std::vector<std::unique_ptr<Blob<Dtype>>> split_tops_, pooled_, flat_;
  std::vector<Blob<Dtype>*> split_top_vec_, concat_bottom_vec_;
};

}  // namespace deepspark
