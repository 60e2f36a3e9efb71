// Dataset tools as library functions (the `deepspark` command wires them):
// converting MNIST IDX files to a Datum database and computing a mean file.
// Errors (missing or malformed inputs, an existing output database) throw
// deepspark::Error naming the file.
// Thread safety: re-entrant; different calls must not write the same path.
#pragma once

#include <string>

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

}  // namespace deepspark
