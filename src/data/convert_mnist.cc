// MNIST IDX -> Datum database, as Caffe's examples/mnist/convert_mnist_data.
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

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

// The conversion proper, into db_path.
int WriteMnistDb(IdxFile* images_file, IdxFile* labels_file, uint32_t num_items, uint32_t rows,
                 uint32_t cols, const std::string& db_path, const std::string& backend) {
  IdxFile& images = *images_file;
  IdxFile& labels = *labels_file;
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

  // Written under a temporary name and renamed when whole: a conversion that
  // fails half way (a truncated file, a full disk) leaves no database behind,
  // so a rerun starts clean instead of finding "File exists".
  namespace fs = std::filesystem;
  REQUIRE(!fs::exists(db_path)) << db_path << " already exists (remove it to convert again)";
  const std::string partial = db_path + ".partial." + std::to_string(getpid());
  std::error_code ignored;
  fs::remove_all(partial, ignored);
  int count = 0;
  try {
    count = WriteMnistDb(&images, &labels, num_items, rows, cols, partial, backend);
  } catch (...) {
    fs::remove_all(partial, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(partial, db_path, ec);
  if (ec) {
    fs::remove_all(partial, ignored);
    THROW_ERROR() << "cannot rename " << partial << " to " << db_path << ": " << ec.message();
  }
  return count;
}

}  // namespace deepspark
