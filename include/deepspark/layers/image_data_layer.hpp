// ImageData: reads images named in a list file (image_data_param.source,
// lines "path label" split at the last space; root_folder is prepended),
// resized to new_height x new_width when both are set, colour (BGR) unless
// is_color is false, then transform_param. Tops: (batch_size, C, H', W') and
// labels (batch_size).
//
// Batch b holds list positions rand_skip + b*batch_size ... (mod the list
// length); with shuffle the list order is redrawn every epoch from
// RandomSeed() (or a random seed when that is negative). Crop/mirror draws of
// batch b are seeded by MixSeed(RandomSeed(), b), so SeekData(b) resumes exactly.
// Thread safety: used by one thread; images are read in Forward.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "deepspark/data_transformer.hpp"
#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class ImageDataLayer : public Layer<Dtype> {
 public:
  explicit ImageDataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}
  const char* type() const override { return "ImageData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 2; }
  void SeekData(uint64_t batches) override { next_batch_ = batches; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  const std::pair<std::string, int>& LineAt(uint64_t position);
  void ReadItem(uint64_t position, caffe::Datum* datum);

  caffe::ImageDataParameter param_;
  std::unique_ptr<DataTransformer<Dtype>> transformer_;
  std::vector<std::pair<std::string, int>> lines_;
  std::vector<uint32_t> perm_;
  int64_t perm_epoch_ = -1;
  uint64_t shuffle_seed_ = 0;
  uint64_t next_batch_ = 0;
};

}  // namespace deepspark
