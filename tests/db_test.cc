#include "deepspark/db.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "test_util.hpp"

namespace deepspark {

class DBTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DBTest, WriteThenReadInKeyOrder) {
  TempDir dir;
  const std::string path = dir / "db";
  {
    auto db = db::GetDB(GetParam());
    db->Open(path, db::NEW);
    auto txn = db->NewTransaction();
    // Written out of order; read back in byte order.
    for (int i : {3, 0, 2, 1, 4}) txn->Put(Key(i), "value" + std::to_string(i));
    txn->Commit();
    txn->Put(Key(5), "value5");
    txn->Commit();
  }
  auto db = db::GetDB(GetParam());
  db->Open(path, db::READ);
  auto cursor = db->NewCursor();
  int i = 0;
  for (cursor->SeekToFirst(); cursor->valid(); cursor->Next(), ++i) {
    EXPECT_EQ(cursor->key(), Key(i));
    EXPECT_EQ(cursor->value(), "value" + std::to_string(i));
  }
  EXPECT_EQ(i, 6);
  cursor->Seek(Key(4));
  ASSERT_TRUE(cursor->valid());
  EXPECT_EQ(cursor->value(), "value4");
  cursor->Next();
  EXPECT_EQ(cursor->key(), Key(5));
  cursor->Seek("missing");
  EXPECT_FALSE(cursor->valid());
  cursor->SeekToFirst();
  EXPECT_EQ(cursor->key(), Key(0));
}

TEST_P(DBTest, MissingDatabaseNamesPath) {
  TempDir dir;
  const std::string path = dir / "nope";
  auto db = db::GetDB(GetParam());
  try {
    db->Open(path, db::READ);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_P(DBTest, NewOnExistingDatabaseFails) {
  TempDir dir;
  const std::string path = dir / "db";
  MakeDatumDB(path, GetParam(), 2, 1, 2, 2);
  auto db = db::GetDB(GetParam());
  EXPECT_THROW(db->Open(path, db::NEW), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, DBTest, ::testing::Values("lmdb", "leveldb"));

TEST(DBSelectTest, UnknownBackend) {
  EXPECT_THROW(db::GetDB("rocksdb"), Error);
  EXPECT_NE(db::GetDB("LMDB"), nullptr);
  EXPECT_NE(db::GetDB(caffe::DataParameter::LEVELDB), nullptr);
}

TEST(DBLMDBTest, GrowsMapWhenFull) {
  TempDir dir;
  const std::string path = dir / "db";
  auto db = db::GetDB("lmdb");
  db->Open(path, db::NEW);
  auto txn = db->NewTransaction();
  const std::string big(1 << 20, 'x');
  // 80 MiB in one transaction: more than the initial 64 MiB map.
  for (int i = 0; i < 80; ++i) txn->Put(Key(i), big);
  txn->Commit();
  db->Close();
  db->Open(path, db::READ);
  auto cursor = db->NewCursor();
  int n = 0;
  for (; cursor->valid(); cursor->Next()) ++n;
  EXPECT_EQ(n, 80);
}

TEST(DBLMDBTest, CorruptDatabaseThrows) {
  TempDir dir;
  const std::string path = dir / "db";
  std::filesystem::create_directory(path);
  {
    std::ofstream out(path + "/data.mdb");
    out << std::string(10000, 'g');
  }
  auto db = db::GetDB("lmdb");
  try {
    db->Open(path, db::READ);
    auto cursor = db->NewCursor();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DBFixtureTest, LegacyMnistLevelDB) {
  const std::string fixture = CaffeZooDir() + "/legacy-v1-lenet-2014/mnist-test-leveldb";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "no fixture " << fixture;
  TempDir dir;
  CopyFixture(fixture, dir / "db");
  auto db = db::GetDB("leveldb");
  db->Open(dir / "db", db::READ);
  auto cursor = db->NewCursor();
  int n = 0;
  for (; cursor->valid(); cursor->Next(), ++n) {
    ASSERT_EQ(cursor->key(), Key(n));
    caffe::Datum datum;
    ASSERT_TRUE(datum.ParseFromString(cursor->value()));
    ASSERT_EQ(datum.channels(), 1);
    ASSERT_EQ(datum.height(), 28);
    ASSERT_EQ(datum.width(), 28);
    ASSERT_EQ(datum.data().size(), 784u);
    ASSERT_GE(datum.label(), 0);
    ASSERT_LE(datum.label(), 9);
  }
  EXPECT_EQ(n, 10000);
}

TEST(DBFixtureTest, First100Lmdb) {
  const std::string fixture = CaffeZooDir() + "/trained/mnist_test_first100_lmdb";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "no fixture " << fixture;
  TempDir dir;
  CopyFixture(fixture, dir / "db");
  auto db = db::GetDB("lmdb");
  db->Open(dir / "db", db::READ);
  auto cursor = db->NewCursor();
  int n = 0;
  for (; cursor->valid(); cursor->Next(), ++n) {
    ASSERT_EQ(cursor->key(), Key(n));
    caffe::Datum datum;
    ASSERT_TRUE(datum.ParseFromString(cursor->value()));
    ASSERT_EQ(datum.data().size(), 784u);
  }
  EXPECT_EQ(n, 100);
}

}  // namespace deepspark
