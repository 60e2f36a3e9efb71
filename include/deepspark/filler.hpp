// Fillers: initial values of parameter blobs, with Caffe's formulas
// (FORMAT.md 2c). fan_in = count / shape(0), fan_out = count / shape(1).
//
// Thread safety: Fill draws from the calling thread's generator.
#pragma once

#include <memory>

#include "deepspark/blob.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

template <typename Dtype>
class Filler {
 public:
  explicit Filler(const caffe::FillerParameter& param) : filler_param_(param) {}
  virtual ~Filler() = default;
  virtual void Fill(Blob<Dtype>* blob) = 0;

 protected:
  caffe::FillerParameter filler_param_;
};

// Makes the filler named by param.type(); throws deepspark::Error on an
// unknown type, listing the known ones.
template <typename Dtype>
std::unique_ptr<Filler<Dtype>> GetFiller(const caffe::FillerParameter& param);

}  // namespace deepspark
