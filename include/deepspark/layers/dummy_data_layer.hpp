// DummyData: tops filled by data_filler (one per top or one for all; default
// constant 0), shaped by dummy_data_param.shape (one for all or one per top)
// or the legacy num/channels/height/width. As in Caffe, tops whose filler
// is constant are filled once at setup; others are refilled every Forward.
// Thread safety: used by one thread; fillers draw from the thread's generator.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/filler.hpp"
#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class DummyDataLayer : public Layer<Dtype> {
 public:
  explicit DummyDataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}
  const char* type() const override { return "DummyData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  std::vector<std::unique_ptr<Filler<Dtype>>> fillers_;
  std::vector<bool> refill_;
};

}  // namespace deepspark
