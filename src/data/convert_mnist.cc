// MNIST IDX -> Datum database, as Caffe's examples/mnist/convert_mnist_data.
#include <zlib.h>

#include <cstdio>
#include <memory>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {
namespace {

// gzopen reads plain files as well as gzipped ones.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    REQUIRE(file_ != nullptr) << "cannot open " << path;
  }
  ~IdxFile() {
    if (file_) gzclose(file_);
  }
  uint32_t ReadUint32() {
    unsigned char b[4];
    Read(b, 4);
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
  }
  void Read(void* buffer, unsigned size) {
    int got = gzread(file_, buffer, size);
    REQUIRE(got == static_cast<int>(size)) << path_ << ": unexpected end of file or read error";
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

}  // namespace

int ConvertMnist(const std::string& images_path, const std::string& labels_path,
                 const std::string& db_path, const std::string& backend) {
  IdxFile images(images_path), labels(labels_path);
  const uint32_t image_magic = images.ReadUint32();
  REQUIRE(image_magic == 2051) << images_path << ": bad magic number " << image_magic
                               << " (an MNIST image file starts with 2051)";
  const uint32_t label_magic = labels.ReadUint32();
  REQUIRE(label_magic == 2049) << labels_path << ": bad magic number " << label_magic
                               << " (an MNIST label file starts with 2049)";
  const uint32_t num_items = images.ReadUint32();
  const uint32_t num_labels = labels.ReadUint32();
  REQUIRE(num_items == num_labels) << images_path << " holds " << num_items << " images but "
                                   << labels_path << " holds " << num_labels << " labels";
  const uint32_t rows = images.ReadUint32();
  const uint32_t cols = images.ReadUint32();
  REQUIRE(rows > 0 && cols > 0 && rows <= 4096 && cols <= 4096)
      << images_path << ": bad image size " << rows << "x" << cols;

  std::unique_ptr<db::DB> db = db::GetDB(backend);
  db->Open(db_path, db::NEW);
  std::unique_ptr<db::Transaction> txn = db->NewTransaction();

  LOG(INFO) << "A total of " << num_items << " items.";
  LOG(INFO) << "Rows: " << rows << " Cols: " << cols;
  std::string pixels(rows * cols, '\0');
  caffe::Datum datum;
  datum.set_channels(1);
  datum.set_height(rows);
  datum.set_width(cols);
  char key[16];
  std::string value;
  int count = 0;
  for (uint32_t item = 0; item < num_items; ++item) {
    images.Read(&pixels[0], rows * cols);
    unsigned char label;
    labels.Read(&label, 1);
    datum.set_data(pixels);
    datum.set_label(label);
    std::snprintf(key, sizeof(key), "%08d", static_cast<int>(item));
    REQUIRE(datum.SerializeToString(&value)) << "cannot serialize item " << item;
    txn->Put(key, value);
    if (++count % 1000 == 0) {
      txn->Commit();
      LOG(INFO) << "Processed " << count << " files.";
    }
  }
  if (count % 1000 != 0) {
    txn->Commit();
    LOG(INFO) << "Processed " << count << " files.";
  }
  db->Close();
  return count;
}

}  // namespace deepspark
