// HDF5Output (type "HDF5Output"): writes bottom[0] (data) and bottom[1]
// (labels), which must have the same first dimension N, to the HDF5 file
// hdf5_output_param.file_name as the datasets "data" and "label". As Caffe
// writes them, each dataset has the blob's legacy 4-D shape (num, channels,
// height, width; missing axes are 1, so labels (N) are stored (N, 1, 1, 1),
// and a blob of more than 4 axes is an error) and the net's element type
// (float, or double in a double net).
// The file is created empty (truncated) at setup. Caffe's layer fails on the
// second Forward, its datasets existing already; here every Forward replaces
// the file with one holding the latest batch. Each batch is written to
// "<file_name>.partial" and renamed over file_name, so a reader opening
// file_name sees the previous batch or the new one, never a half-written
// file (the rename is atomic; it is not fsynced, so a power cut may lose the
// latest batch). No tops; Backward propagates nothing.
//
// Thread safety: one thread per instance; two layers must not share a file.
#pragma once

#include <string>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class HDF5OutputLayer : public Layer<Dtype> {
 public:
  explicit HDF5OutputLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}
  const char* type() const override { return "HDF5Output"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 0; }
  // Neither the data nor the labels get a gradient from a file.
  bool AllowForceBackward(int bottom_index) const override { return false; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  // Writes the datasets (none for an empty setup file) to file_name_ through
  // the .partial file and the rename.
  void WriteFile(const Blob<Dtype>* data, const Blob<Dtype>* label);

  std::string file_name_;
};

}  // namespace deepspark
