#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <functional>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/tools.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

void WriteUint32(std::ofstream& out, uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(b, 4);
}

// A plain (not gzipped) IDX pair with n 2x3 images.
void WriteIdx(const std::string& images, const std::string& labels, int n, int n_labels,
              uint32_t image_magic = 2051) {
  std::ofstream im(images, std::ios::binary), lb(labels, std::ios::binary);
  WriteUint32(im, image_magic);
  WriteUint32(im, n);
  WriteUint32(im, 2);
  WriteUint32(im, 3);
  for (int i = 0; i < n * 6; ++i) im.put(static_cast<char>(i));
  WriteUint32(lb, 2049);
  WriteUint32(lb, n_labels);
  for (int i = 0; i < n_labels; ++i) lb.put(static_cast<char>(i % 10));
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConvertMnistTest, SmallPlainIdx) {
  TempDir dir;
  WriteIdx(dir / "im", dir / "lb", 3, 3);
  EXPECT_EQ(ConvertMnist(dir / "im", dir / "lb", dir / "db", "leveldb"), 3);
  auto db = db::GetDB("leveldb");
  db->Open(dir / "db", db::READ);
  auto cursor = db->NewCursor();
  for (int i = 0; i < 3; ++i, cursor->Next()) {
    ASSERT_TRUE(cursor->valid());
    EXPECT_EQ(cursor->key(), Key(i));
    caffe::Datum datum;
    ASSERT_TRUE(datum.ParseFromString(cursor->value()));
    EXPECT_EQ(datum.channels(), 1);
    EXPECT_EQ(datum.height(), 2);
    EXPECT_EQ(datum.width(), 3);
    EXPECT_EQ(datum.label(), i);
    EXPECT_FALSE(datum.has_encoded());
    EXPECT_EQ(datum.data()[5], static_cast<char>(i * 6 + 5));
  }
  EXPECT_FALSE(cursor->valid());
}

TEST(ConvertMnistTest, Errors) {
  TempDir dir;
  WriteIdx(dir / "bad_im", dir / "lb", 3, 3, 1234);
  std::string e = ErrorOf([&] { ConvertMnist(dir / "bad_im", dir / "lb", dir / "db1"); });
  EXPECT_NE(e.find("bad_im"), std::string::npos) << e;
  EXPECT_NE(e.find("magic"), std::string::npos) << e;
  WriteIdx(dir / "im", dir / "lb", 3, 2);
  e = ErrorOf([&] { ConvertMnist(dir / "im", dir / "lb", dir / "db2"); });
  EXPECT_NE(e.find("im"), std::string::npos) << e;
  EXPECT_NE(e.find("2 labels"), std::string::npos) << e;
  e = ErrorOf([&] { ConvertMnist(dir / "none", dir / "lb", dir / "db3"); });
  EXPECT_NE(e.find("none"), std::string::npos) << e;
  // Truncated image data.
  WriteIdx(dir / "im4", dir / "lb4", 3, 3);
  std::filesystem::resize_file(dir / "im4", 16 + 10);
  e = ErrorOf([&] { ConvertMnist(dir / "im4", dir / "lb4", dir / "db4"); });
  EXPECT_NE(e.find("im4"), std::string::npos) << e;
  // Nothing half written is left: the rerun with whole files works.
  EXPECT_FALSE(std::filesystem::exists(dir / "db4"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".partial."), std::string::npos)
        << entry.path();
  }
  WriteIdx(dir / "im4", dir / "lb4", 3, 3);
  EXPECT_EQ(ConvertMnist(dir / "im4", dir / "lb4", dir / "db4"), 3);
  // An existing database is not overwritten.
  e = ErrorOf([&] { ConvertMnist(dir / "im4", dir / "lb4", dir / "db4"); });
  EXPECT_NE(e.find("already exists"), std::string::npos) << e;
}

TEST(ConvertMnistTest, MatchesCaffeFirst100) {
  const std::string images = SharedDir() + "/datasets/mnist/t10k-images-idx3-ubyte.gz";
  const std::string labels = SharedDir() + "/datasets/mnist/t10k-labels-idx1-ubyte.gz";
  const std::string fixture = CaffeZooDir() + "/trained/mnist_test_first100_lmdb";
  if (!std::filesystem::exists(images) || !std::filesystem::exists(fixture)) {
    GTEST_SKIP() << "no MNIST fixtures";
  }
  TempDir dir;
  EXPECT_EQ(ConvertMnist(images, labels, dir / "db", "lmdb"), 10000);
  CopyFixture(fixture, dir / "first100");
  auto ours = db::GetDB("lmdb");
  ours->Open(dir / "db", db::READ);
  auto theirs = db::GetDB("lmdb");
  theirs->Open(dir / "first100", db::READ);
  auto a = ours->NewCursor();
  auto b = theirs->NewCursor();
  int n = 0;
  for (; b->valid(); a->Next(), b->Next(), ++n) {
    ASSERT_TRUE(a->valid());
    ASSERT_EQ(a->key(), b->key());
    ASSERT_EQ(a->value(), b->value()) << "item " << n;
  }
  EXPECT_EQ(n, 100);
  for (; a->valid(); a->Next()) ++n;
  EXPECT_EQ(n, 10000);
}

TEST(ConvertMnistTest, MatchesLegacyLevelDB) {
  const std::string images = SharedDir() + "/datasets/mnist/t10k-images-idx3-ubyte.gz";
  const std::string labels = SharedDir() + "/datasets/mnist/t10k-labels-idx1-ubyte.gz";
  const std::string fixture = CaffeZooDir() + "/legacy-v1-lenet-2014/mnist-test-leveldb";
  if (!std::filesystem::exists(images) || !std::filesystem::exists(fixture)) {
    GTEST_SKIP() << "no MNIST fixtures";
  }
  TempDir dir;
  EXPECT_EQ(ConvertMnist(images, labels, dir / "db", "leveldb"), 10000);
  CopyFixture(fixture, dir / "legacy");
  auto ours = db::GetDB("leveldb");
  ours->Open(dir / "db", db::READ);
  auto theirs = db::GetDB("leveldb");
  theirs->Open(dir / "legacy", db::READ);
  auto a = ours->NewCursor();
  auto b = theirs->NewCursor();
  int n = 0;
  for (; b->valid(); a->Next(), b->Next(), ++n) {
    ASSERT_TRUE(a->valid());
    ASSERT_EQ(a->key(), b->key());
    caffe::Datum da, db_;
    ASSERT_TRUE(da.ParseFromString(a->value()));
    ASSERT_TRUE(db_.ParseFromString(b->value()));
    ASSERT_EQ(da.data(), db_.data()) << "item " << n;
    ASSERT_EQ(da.label(), db_.label()) << "item " << n;
  }
  EXPECT_EQ(n, 10000);
}

TEST(ComputeImageMeanTest, ElementwiseMean) {
  TempDir dir;
  MakeDatumDB(dir / "db", "lmdb", 7, 2, 3, 4);
  const std::string out = dir / "mean.binaryproto";
  caffe::BlobProto mean = ComputeImageMean(dir / "db", "lmdb", out);
  caffe::BlobProto read;
  {
    std::ifstream in(out, std::ios::binary);
    ASSERT_TRUE(read.ParseFromIstream(&in));
  }
  EXPECT_EQ(read.SerializeAsString(), mean.SerializeAsString());
  EXPECT_FALSE(read.has_shape());
  EXPECT_EQ(read.num(), 1);
  EXPECT_EQ(read.channels(), 2);
  EXPECT_EQ(read.height(), 3);
  EXPECT_EQ(read.width(), 4);
  ASSERT_EQ(read.data_size(), 24);
  for (int j = 0; j < 24; ++j) {
    float sum = 0;
    for (int i = 0; i < 7; ++i) sum += static_cast<uint8_t>(MakeDatum(i, 2, 3, 4).data()[j]);
    EXPECT_FLOAT_EQ(read.data(j), sum / 7) << j;
  }
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp." + std::to_string(getpid())));
  EXPECT_THROW(ComputeImageMean(dir / "missing", "lmdb", ""), Error);
}

// A Datum whose shape does not match its values (65536^3 once aborted on
// bad_alloc; -1 dims gave rc 0 and a -1x-1x1 mean) is refused by key
// before anything is sized by it.
TEST(ComputeImageMeanTest, RefusesAShapeItsValuesDoNotFill) {
  TempDir dir;
  for (const auto& shape :
       std::vector<std::array<int, 3>>{{65536, 65536, 65536}, {-1, -1, 1}, {1, 0, 4}, {2, 3, 5}}) {
    const std::string path = dir / ("db" + std::to_string(shape[0]) + std::to_string(shape[2]));
    auto db = db::GetDB("lmdb");
    db->Open(path, db::NEW);
    auto txn = db->NewTransaction();
    caffe::Datum datum = MakeDatum(0, 2, 3, 4);  // 24 values
    datum.set_channels(shape[0]);
    datum.set_height(shape[1]);
    datum.set_width(shape[2]);
    txn->Put(Key(0), datum.SerializeAsString());
    txn->Commit();
    db->Close();
    try {
      ComputeImageMean(path, "lmdb", dir / "mean.binaryproto");
      ADD_FAILURE() << "shape " << shape[0] << "x" << shape[1] << "x" << shape[2] << " taken";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("Datum 00000000"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "mean.binaryproto"));
  }
}

}  // namespace deepspark
