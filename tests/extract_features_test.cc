// extract-features (Caffe's extract_features) on the trained LeNet and the
// first 100 MNIST test images.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/net.hpp"
#include "deepspark/tools.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

TEST(ExtractFeaturesTest, BlobsPerItemAsCaffeWritesThem) {
  const std::string weights = CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel";
  const std::string fixture = CaffeZooDir() + "/trained/mnist_test_first100_lmdb";
  if (!std::filesystem::exists(weights)) GTEST_SKIP() << "no " << weights;
  TempDir dir;
  CopyFixture(fixture, dir / "first100");
  std::ifstream in(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The test data layer reads the copied fixture, 30 items a batch.
  const std::string from = "examples/mnist/mnist_test_lmdb";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), dir / "first100");
  const std::string batch = "batch_size: 100";
  ASSERT_NE(text.rfind(batch), std::string::npos);
  text.replace(text.rfind(batch), batch.size(), "batch_size: 30");
  std::ofstream(dir / "net.prototxt") << text;

  EXPECT_EQ(ExtractFeatures(weights, dir / "net.prototxt", {"ip2", "pool1"},
                            {dir / "ip2_db", dir / "pool1_db"}, 2, "lmdb"),
            60);
  // The same net run by hand gives the values stored.
  Net<float> net(dir / "net.prototxt", caffe::TEST);
  net.CopyTrainedLayersFrom(weights);
  std::vector<float> ip2;
  for (int b = 0; b < 2; ++b) {
    net.Forward();
    const Blob<float>& blob = *net.blob_by_name("ip2");
    ip2.insert(ip2.end(), blob.cpu_data(), blob.cpu_data() + blob.count());
  }
  auto db = db::GetDB("lmdb");
  db->Open(dir / "ip2_db", db::READ);
  int n = 0;
  for (auto c = db->NewCursor(); c->valid(); c->Next(), ++n) {
    char key[16];
    std::snprintf(key, sizeof(key), "%010d", n);
    EXPECT_EQ(c->key(), key);
    caffe::Datum d;
    ASSERT_TRUE(d.ParseFromString(c->value()));
    EXPECT_EQ(d.channels(), 10);
    EXPECT_EQ(d.height(), 1);
    EXPECT_EQ(d.width(), 1);
    ASSERT_EQ(d.float_data_size(), 10);
    for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ(d.float_data(k), ip2[n * 10 + k]);
  }
  EXPECT_EQ(n, 60);
  auto pool = db::GetDB("lmdb");
  pool->Open(dir / "pool1_db", db::READ);
  caffe::Datum d;
  ASSERT_TRUE(d.ParseFromString(pool->NewCursor()->value()));
  EXPECT_EQ((std::vector<int>{d.channels(), d.height(), d.width()}),
            (std::vector<int>{20, 12, 12}));

  // Errors name what is wrong and leave no database behind.
  try {
    ExtractFeatures(weights, dir / "net.prototxt", {"nope"}, {dir / "x_db"}, 1, "lmdb");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown feature blob name nope"), std::string::npos);
  }
  EXPECT_THROW(ExtractFeatures(weights, dir / "net.prototxt", {"ip2"}, {dir / "ip2_db"}, 1, "lmdb"),
               Error);  // exists
  EXPECT_FALSE(std::filesystem::exists(dir / "x_db"));
  EXPECT_FALSE(std::filesystem::exists(dir / "x_db.partial"));
}

}  // namespace
}  // namespace deepspark
