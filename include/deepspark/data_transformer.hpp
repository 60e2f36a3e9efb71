// DataTransformer: Caffe's transform_param applied to a Datum, giving a
// (C, H', W') float array: crop (random offset in TRAIN, centre in TEST),
// mirror (random, p = 0.5, in both phases), then (x - mean) * scale, where the
// mean is a BlobProto file with the datum's C,H,W (subtracted at the same,
// uncropped positions) or 1 or C mean_values. Encoded Datums (JPEG/PNG) are
// decoded with OpenCV first (force_color / force_gray).
//
// Randomness comes from the generator passed in, so callers control seeding.
// Thread safety: const methods may be called from several threads at once.
#pragma once

#include <string>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/rng.hpp"

namespace deepspark {

// Decodes an encoded Datum in place into raw C,H,W uint8 (BGR for colour).
// Returns false when it was not encoded. Throws Error if decoding fails.
bool DecodeDatumInPlace(caffe::Datum* datum, bool force_color, bool force_gray);

// Reads an image file (cv::imread, colour as BGR or grey) into a raw Datum,
// resized to height x width (bilinear) when both are > 0. Throws Error naming
// the file when it cannot be read.
void ReadImageToDatum(const std::string& filename, int label, int height, int width, bool is_color,
                      caffe::Datum* datum);

// Reads a BlobProto (binary protobuf), throwing Error naming the file.
void ReadBlobProtoFile(const std::string& filename, caffe::BlobProto* proto);

template <typename Dtype>
class DataTransformer {
 public:
  // Loads mean_file if set; throws Error if it cannot be read or both
  // mean_file and mean_value are given.
  DataTransformer(const caffe::TransformationParameter& param, caffe::Phase phase);
  // As above, with the mean file's contents given instead of read from
  // param.mean_file (the Spark Model carries them to executors, where that
  // path does not exist).
  DataTransformer(const caffe::TransformationParameter& param, caffe::Phase phase,
                  const caffe::BlobProto& mean);

  // The shape of one transformed item: {C, H', W'} (decoding if encoded).
  std::vector<int> InferItemShape(const caffe::Datum& datum) const;

  // Writes the transformed datum to out (C*H'*W' values). rng may be null
  // only when neither crop in TRAIN nor mirror needs randomness.
  void Transform(const caffe::Datum& datum, Dtype* out, RngEngine* rng) const;
  // Writes into item `item` of a (N, C, H', W') blob.
  void Transform(const caffe::Datum& datum, Blob<Dtype>* blob, int item, RngEngine* rng) const;

  const caffe::TransformationParameter& param() const { return param_; }

 private:
  void TransformRaw(const caffe::Datum& datum, Dtype* out, RngEngine* rng) const;

  caffe::TransformationParameter param_;
  caffe::Phase phase_;
  caffe::BlobProto mean_;
  bool has_mean_file_ = false;
  std::vector<Dtype> mean_values_;
};

}  // namespace deepspark
