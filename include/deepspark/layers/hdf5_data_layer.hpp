// HDF5Data: reads rows of HDF5 datasets named after the top blobs from the
// .h5 files listed in hdf5_data_param.source (one path per line; a relative
// path that does not exist is tried beside the list file). Every dataset of
// a file has the same first dimension N; top i is (batch_size, dims[1:]).
// Rows are served in order, file after file, wrapping at the end; with
// shuffle, the file order (each pass) and the row order (each file load) are
// drawn from RandomSeed() (random when negative).
// Thread safety: used by one thread; files are read in Forward.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class HDF5DataLayer : public Layer<Dtype> {
 public:
  explicit HDF5DataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}
  const char* type() const override { return "HDF5Data"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }
  // Restarts from the first file and skips batches * batch_size rows.
  void SeekData(uint64_t batches) override;

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  // Loads file number `file_step` of the overall sequence (passes included).
  void LoadFile(uint64_t file_step);
  void Restart();

  std::vector<std::string> files_;
  std::vector<std::unique_ptr<Blob<Dtype>>> data_;  // one per top, current file
  std::vector<uint32_t> file_perm_, row_perm_;
  uint64_t seed_ = 0;
  uint64_t file_step_ = 0;
  int rows_ = 0, current_row_ = 0;
};

}  // namespace deepspark
