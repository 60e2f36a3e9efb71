// MemoryData: serves batches from arrays the caller owns (Reset) or from
// Datums it transforms and keeps (AddDatumVector). Tops: data (batch_size,
// channels, height, width) and labels (batch_size). Each Forward hands out the
// next batch_size items, wrapping at the end.
// Thread safety: used by one thread; arrays given to Reset must outlive use.
#pragma once

#include <memory>
#include <vector>

#include "deepspark/data_transformer.hpp"
#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class MemoryDataLayer : public Layer<Dtype> {
 public:
  explicit MemoryDataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  const char* type() const override { return "MemoryData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 2; }

  // Serves n items (a multiple of batch_size) of channels*height*width values
  // from data and one label each from labels; neither is copied.
  void Reset(Dtype* data, Dtype* labels, int n);
  // Transforms the datums (transform_param) into an owned buffer and serves
  // them; their count must be a multiple of batch_size.
  void AddDatumVector(const std::vector<caffe::Datum>& datums);
  void set_batch_size(int batch_size);

  int batch_size() const { return batch_size_; }
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  int batch_size_ = 0, channels_ = 0, height_ = 0, width_ = 0, size_ = 0;
  Dtype* data_ = nullptr;
  Dtype* labels_ = nullptr;
  int n_ = 0, pos_ = 0;
  std::vector<Dtype> owned_data_, owned_labels_;
  std::unique_ptr<DataTransformer<Dtype>> transformer_;
};

}  // namespace deepspark
