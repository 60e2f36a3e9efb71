// The element-wise mean of a Datum database, as Caffe's compute_image_mean
// (float accumulation, then one division by the count).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"
#include "deepspark/db.hpp"
#include "deepspark/io.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {

caffe::BlobProto ComputeImageMean(const std::string& db_path, const std::string& backend,
                                  const std::string& output_file) {
  std::unique_ptr<db::DB> db = db::GetDB(backend);
  db->Open(db_path, db::READ);
  std::unique_ptr<db::Cursor> cursor = db->NewCursor();
  REQUIRE(cursor->valid()) << "database " << db_path << " is empty";

  caffe::BlobProto mean;
  std::vector<float> sum;
  caffe::Datum datum;
  int count = 0;
  for (; cursor->valid(); cursor->Next()) {
    REQUIRE(datum.ParseFromString(cursor->value()))
        << "database " << db_path << ": value of key " << cursor->key() << " is not a Datum";
    DecodeDatumInPlace(&datum, false, false);
    if (count == 0) {
      // The shape is checked against the values before anything is sized by
      // it: a Datum claiming 65536^3 would otherwise ask for petabytes, and
      // one of -1 dims wrote a -1x-1 mean.
      const int64_t values = datum.data().empty() ? datum.float_data_size()
                                                  : static_cast<int64_t>(datum.data().size());
      REQUIRE(datum.channels() > 0 && datum.height() > 0 && datum.width() > 0)
          << "database " << db_path << ": Datum " << cursor->key() << " has shape "
          << datum.channels() << " x " << datum.height() << " x " << datum.width()
          << " (channels x height x width must all be positive)";
      const double claimed = static_cast<double>(datum.channels()) * datum.height() * datum.width();
      REQUIRE(claimed == static_cast<double>(values))
          << "database " << db_path << ": Datum " << cursor->key() << " claims " << datum.channels()
          << " x " << datum.height() << " x " << datum.width() << " values but holds " << values;
      mean.set_num(1);
      mean.set_channels(datum.channels());
      mean.set_height(datum.height());
      mean.set_width(datum.width());
      sum.assign(static_cast<size_t>(datum.channels()) * datum.height() * datum.width(), 0.f);
      REQUIRE(!sum.empty()) << "database " << db_path << ": first Datum has an empty shape";
    }
    const std::string& data = datum.data();
    if (!data.empty()) {
      REQUIRE(data.size() == sum.size())
          << "database " << db_path << ": Datum " << cursor->key() << " has " << data.size()
          << " values, expected " << sum.size();
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += static_cast<uint8_t>(data[i]);
    } else {
      REQUIRE(static_cast<size_t>(datum.float_data_size()) == sum.size())
          << "database " << db_path << ": Datum " << cursor->key() << " has "
          << datum.float_data_size() << " values, expected " << sum.size();
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += datum.float_data(i);
    }
    if (++count % 10000 == 0) LOG(INFO) << "Processed " << count << " files.";
  }
  LOG(INFO) << "Processed " << count << " files.";
  for (float s : sum) mean.add_data(s / count);
  const int channels = mean.channels();
  const int dim = mean.height() * mean.width();
  for (int c = 0; c < channels; ++c) {
    double m = 0;
    for (int i = 0; i < dim; ++i) m += mean.data(c * dim + i);
    LOG(INFO) << "mean_value channel [" << c << "]: " << m / dim;
  }
  if (!output_file.empty()) {
    std::string bytes;
    REQUIRE(mean.SerializeToString(&bytes)) << "cannot serialize the mean";
    WriteFileAtomically(output_file, bytes);
    LOG(INFO) << "Write to " << output_file;
  }
  return mean;
}

}  // namespace deepspark
