// WindowData: R-CNN's data layer (Caffe keeps it for archival use). A window
// file (window_data_param.source) lists images and boxes:
//   # IMAGE_INDEX          (0, 1, ... in order)
//   IMAGE_PATH             (root_folder is prepended)
//   CHANNELS HEIGHT WIDTH  (CHANNELS must be 3: images are read as BGR)
//   NUM_WINDOWS
//   LABEL OVERLAP X1 Y1 X2 Y2   (NUM_WINDOWS lines; inclusive pixel corners)
// A window with overlap >= fg_threshold is foreground (its label must be
// > 0); one with overlap < bg_threshold is background (label 0). Each batch
// samples batch_size x (1 - fg_fraction) background windows, then the rest
// foreground, uniformly with replacement; each is cut out of its image with
// context_pad pixels of context (crop_mode "square" makes the box square
// first), warped to crop_size x crop_size (transform_param), mirrored at
// random (transform_param.mirror), and written as (pixel - mean) * scale,
// where mean is transform_param's mean_file (its centre crop_size window) or
// mean_value, and scale is window_data_param.scale (as Caffe: not
// transform_param.scale). Context beyond the image stays 0. Tops: data
// (batch_size, 3, crop_size, crop_size) and label (batch_size).
//
// Batch b's draws are seeded by MixSeed(RandomSeed(), b), so a resumed run
// (SeekData) reads the same windows as an uninterrupted one.
// Thread safety: used by one thread; images are read in Forward.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class WindowDataLayer : public Layer<Dtype> {
 public:
  explicit WindowDataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}
  const char* type() const override { return "WindowData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 2; }
  void SeekData(uint64_t batches) override { next_batch_ = batches; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  struct Window {
    int image, label;
    float overlap;
    int x1, y1, x2, y2;
  };
  struct Image {
    std::string path;
    int height, width;
  };
  void ReadWindowFile(const std::string& path);
  cv::Mat LoadImage(int index);
  // Writes window w of the batch into item `item` of data (already zeroed).
  void WarpWindow(const Window& w, bool mirror, Dtype* item);

  std::vector<Image> images_;
  std::vector<Window> fg_, bg_;
  std::vector<cv::Mat> cache_;  // decoded images, with cache_images
  int crop_size_ = 0;
  Blob<Dtype> mean_;  // mean_file's (1, 3, H, W), if given
  std::vector<Dtype> mean_values_;
  uint64_t next_batch_ = 0;
};

}  // namespace deepspark
