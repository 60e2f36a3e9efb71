// Dataset tools as library functions (the `deepspark` command wires them):
// converting MNIST IDX files or a folder of images to a Datum database,
// computing a mean file, extracting a net's features.
// Errors (missing or malformed inputs, an existing output database) throw
// deepspark::Error naming the file.
// Thread safety: re-entrant; different calls must not write the same path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// Caffe's convert_mnist_data: reads the IDX image and label files (gzipped or
// not), writes keys "%08d" and Datum{channels 1, height, width, data, label}
// to a new database at db_path ("lmdb" or "leveldb"), committing every 1000
// items. Returns the number of items written.
int ConvertMnist(const std::string& images_path, const std::string& labels_path,
                 const std::string& db_path, const std::string& backend = "lmdb");

// Caffe's compute_image_mean: the element-wise float mean of every Datum in
// the database (decoded if encoded), as BlobProto{num 1, channels, height,
// width, data}. Written atomically to output_file unless that is empty.
caffe::BlobProto ComputeImageMean(const std::string& db_path, const std::string& backend,
                                  const std::string& output_file);

// Caffe's convert_imageset (its flags as fields): images listed in
// list_file, one "relative/path label" a line (the label after the last
// space), read from root_folder + path with OpenCV, written as Datums with
// keys "%08d_<path>" (the line's index in the possibly shuffled list) to a
// new database: raw (CHW bytes, BGR or grey, resized when both sizes are
// set) or encoded (the file's own bytes when it already has the encoding
// at its size and colour, else re-encoded). The database is built under
// db_path + ".partial" and renamed when complete. An unreadable image or a
// malformed line throws, naming the file and line. Returns the count.
struct ConvertImagesetOptions {
  std::string root_folder, list_file, db_path;
  std::string backend = "lmdb";
  bool gray = false, shuffle = false, check_size = false, encoded = false;
  std::string encode_type;
  int resize_width = 0, resize_height = 0;
  uint64_t shuffle_seed = 0;
};
int ConvertImageset(const ConvertImagesetOptions& options);

// Caffe's extract_features: runs the TEST-phase net `model` with `weights`
// num_batches times and writes, for each blob_names[i], one Datum per item
// (float_data, the blob's channels/height/width; keys the item's index as
// 10 digits) to the new database db_paths[i] ("lmdb", "leveldb" or
// "records"), each built under <path>.partial and renamed when complete.
// Returns the items written per blob.
int ExtractFeatures(const std::string& weights, const std::string& model,
                    const std::vector<std::string>& blob_names,
                    const std::vector<std::string>& db_paths, int num_batches,
                    const std::string& backend);

}  // namespace deepspark
