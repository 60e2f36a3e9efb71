#include "deepspark/db.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/tools.hpp"
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

INSTANTIATE_TEST_SUITE_P(Backends, DBTest, ::testing::Values("lmdb", "leveldb", "records"));

TEST(DBSelectTest, UnknownBackend) {
  EXPECT_THROW(db::GetDB("rocksdb"), Error);
  EXPECT_NE(db::GetDB("LMDB"), nullptr);
  EXPECT_NE(db::GetDB(caffe::DataParameter::LEVELDB), nullptr);
  EXPECT_NE(db::GetDB(caffe::DataParameter::RECORDS), nullptr);
}

TEST(DBSelectTest, BackendOfAnExistingDatabase) {
  TempDir dir;
  MakeDatumDB(dir / "l", "lmdb", 2, 1, 2, 2);
  MakeDatumDB(dir / "v", "leveldb", 2, 1, 2, 2);
  MakeDatumDB(dir / "r", "records", 2, 1, 2, 2);
  EXPECT_EQ(db::BackendOf(dir / "l"), caffe::DataParameter::LMDB);
  EXPECT_EQ(db::BackendOf(dir / "v"), caffe::DataParameter::LEVELDB);
  EXPECT_EQ(db::BackendOf(dir / "r"), caffe::DataParameter::RECORDS);
  EXPECT_EQ(db::BackendOf(dir / "missing"), caffe::DataParameter::LMDB);
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

// Every key and value, copied out as `test` and compute-image-mean do.
void ReadAll(const std::string& path) {
  auto db = db::GetDB("lmdb");
  db->Open(path, db::READ);
  auto cursor = db->NewCursor();
  size_t bytes = 0;
  for (; cursor->valid(); cursor->Next()) bytes += cursor->key().size() + cursor->value().size();
  EXPECT_GT(bytes, 0u);
}

void ReadAllLevelDB(const std::string& path) {
  auto db = db::GetDB("leveldb");
  db->Open(path, db::READ);
  for (auto cursor = db->NewCursor(); cursor->valid(); cursor->Next()) cursor->value();
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Writes `value` over the file's bytes at `offset`.
template <typename T>
void Poke(const std::string& path, std::streamoff offset, T value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.write(reinterpret_cast<const char*>(&value), sizeof(value));
}

// What a data.mdb's newer meta page (the larger transaction id) says:
// the page size (meta page 0's, at 40), which page it is, its transaction
// id (at 144) and the main tree's root (at 128).
struct NewerMeta {
  uint32_t psize = 0;
  int page = 0;
  uint64_t txnid = 0, root = 0;
};
NewerMeta ReadNewerMeta(const std::string& bytes) {
  NewerMeta m;
  std::memcpy(&m.psize, bytes.data() + 40, 4);
  uint64_t txn[2];
  std::memcpy(&txn[0], bytes.data() + 144, 8);
  std::memcpy(&txn[1], bytes.data() + m.psize + 144, 8);
  m.page = txn[1] > txn[0] ? 1 : 0;
  m.txnid = txn[m.page];
  std::memcpy(&m.root, bytes.data() + m.page * m.psize + 128, 8);
  return m;
}

// 40 items of 3 KiB (each in its own overflow pages, as images are).
void MakeImageLmdb(const std::string& path) { MakeDatumDB(path, "lmdb", 40, 3, 32, 32); }

// A data.mdb cut short (a copy or download that stopped) maps pages that are
// not in the file: reading one was a SIGBUS in mdb_cursor_get or in the copy
// of a value. It is refused at open, naming the file.
TEST(DBLMDBTest, TruncatedFileIsRefused) {
  TempDir dir;
  const std::string path = dir / "db";
  MakeImageLmdb(path);
  const std::string data = path + "/data.mdb";
  const auto size = std::filesystem::file_size(data);
  const std::string pristine = FileBytes(data);
  std::filesystem::resize_file(data, size / 2);
  for (const std::function<void()>& read : std::vector<std::function<void()>>{
           [&] { ReadAll(path); }, [&] { ComputeImageMean(path, "lmdb", ""); }}) {
    const std::string message = ErrorInChild(read);
    EXPECT_NE(message.find(data), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  }
  // Cut after it was opened: the cursor checks again.
  std::ofstream(data, std::ios::binary | std::ios::trunc) << pristine;
  const std::string message = ErrorInChild([&] {
    auto db = db::GetDB("lmdb");
    db->Open(path, db::READ);
    std::filesystem::resize_file(data, size / 2);
    db->NewCursor();
  });
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

// A meta page giving a page size of 0 made mdb_env_open divide by zero
// (found by fuzz_db); a meta page that is not one at all is named too.
TEST(DBLMDBTest, DamagedMetaPagesAreRefused) {
  TempDir dir;
  const std::string path = dir / "db";
  MakeImageLmdb(path);
  const std::string data = path + "/data.mdb";
  Poke<uint32_t>(data, 40, 0);  // meta page 0's page size
  std::string message = ErrorInChild([&] { ReadAll(path); });
  EXPECT_NE(message.find("page size of 0"), std::string::npos) << message;
  Poke<uint32_t>(data, 16, 0x12345678);  // its magic
  message = ErrorInChild([&] { ReadAll(path); });
  EXPECT_NE(message.find("not an LMDB meta page"), std::string::npos) << message;
  EXPECT_NE(message.find(data), std::string::npos) << message;

  // The newer meta page's transaction id names the page a read transaction
  // uses (t & 1); a file where the two disagree made liblmdb read an
  // unchecked root and assert (found by fuzz_db).
  MakeImageLmdb(dir / "fresh");
  std::filesystem::copy_file(dir / "fresh/data.mdb", data,
                             std::filesystem::copy_options::overwrite_existing);
  const NewerMeta meta = ReadNewerMeta(FileBytes(data));
  const int newer = meta.page;
  const uint64_t moved = meta.txnid + 1;  // the wrong parity for its page
  Poke<uint64_t>(data, newer * meta.psize + 144, moved);
  message = ErrorInChild([&] { ReadAll(path); });
  EXPECT_NE(message.find("meta page " + std::to_string(newer) + " holds transaction " +
                         std::to_string(moved) + ", which belongs in meta page " +
                         std::to_string(1 - newer)),
            std::string::npos)
      << message;
  // Flags on the main database (here MDB_DUPSORT): not a Caffe dataset.
  std::filesystem::copy_file(dir / "fresh/data.mdb", data,
                             std::filesystem::copy_options::overwrite_existing);
  Poke<uint16_t>(data, newer * meta.psize + 92, 0x04);
  message = ErrorInChild([&] { ReadAll(path); });
  EXPECT_NE(message.find("its main database has flags 4"), std::string::npos) << message;
}

// Damaged tree pages made liblmdb's own assertions abort the reader inside
// mdb_cursor_get (found by fuzz_db): every page of the tree is checked
// before LMDB reads the file.
TEST(DBLMDBTest, DamagedTreePagesAreRefused) {
  TempDir dir;
  const std::string path = dir / "db";
  MakeImageLmdb(path);
  const std::string data = path + "/data.mdb";
  const std::string pristine = FileBytes(data);
  const NewerMeta meta = ReadNewerMeta(pristine);  // the main tree's root is there
  auto damage = [&](uint64_t offset, uint16_t value) {
    std::string bytes = pristine;
    std::memcpy(&bytes[offset], &value, sizeof(value));
    std::ofstream(data, std::ios::binary | std::ios::trunc) << bytes;
    return ErrorInChild([&] { ReadAll(path); });
  };
  const uint64_t page = meta.root * meta.psize;
  std::string message = damage(page + 10, 0);  // the root's flags
  EXPECT_NE(message.find("neither a branch nor a leaf"), std::string::npos) << message;
  EXPECT_NE(message.find(data), std::string::npos) << message;
  message = damage(page + 16, 0xFFF0);  // its first node's offset
  EXPECT_NE(message.find("outside its page"), std::string::npos) << message;
  message = damage(page + 12, 0xFFFF);  // its lower bound
  EXPECT_NE(message.find("impossible bounds"), std::string::npos) << message;
  // An empty root leaf made mdb_cursor_first read a node from outside the
  // page (a SEGV; found by fuzz_db), and flags beyond P_LEAF are refused.
  message = damage(page + 12, 16);  // lower: no node offsets at all
  EXPECT_NE(message.find("has no entries"), std::string::npos) << message;
  message = damage(page + 10, 0x102);
  EXPECT_NE(message.find("(flags 0x102)"), std::string::npos) << message;
  // The untouched file still reads.
  std::ofstream(data, std::ios::binary | std::ios::trunc) << pristine;
  EXPECT_EQ(ErrorInChild([&] {
              ReadAll(path);
              THROW_ERROR() << "read";
            }),
            "read");
}

// A flipped bit in a node's size field made LMDB return a value running
// far past the end of the file; copying it was a SIGBUS. Every key and value
// is checked to lie inside the file's mapping.
TEST(DBLMDBTest, ValueOutsideTheFileIsRefused) {
  TempDir dir;
  const std::string path = dir / "db";
  for (bool overflow : {true, false}) {
    std::filesystem::remove_all(path);
    if (overflow) {
      MakeImageLmdb(path);
    } else {
      MakeDatumDB(path, "lmdb", 10, 1, 2, 2);  // values inside the leaf page
    }
    const std::string data = path + "/data.mdb";
    std::string bytes = FileBytes(data);
    // A leaf node: data size low and high 16 bits, flags, key size, key.
    const size_t key_at = bytes.find(Key(3));
    ASSERT_NE(key_at, std::string::npos);
    ASSERT_GE(key_at, 8u);
    bytes[key_at - 5] = 0x7f;  // the high half of the size: now about 2 GiB
    {
      std::ofstream out(data, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), bytes.size());
    }
    // The page check at open finds it now (DamagedTreePagesAreRefused); the
    // cursor's own check stays for a file that changes after it was opened.
    const std::string message = ErrorInChild([&] { ReadAll(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("is damaged"), std::string::npos) << message;
    EXPECT_NE(message.find(Key(3)), std::string::npos) << message;
  }
}

// A flipped byte in a LevelDB file, in its write-ahead log (where a dataset
// under the 256 MiB write buffer lives) or in a table, is an error naming
// the database: checksums are verified (without that, LevelDB drops a
// damaged log record silently and returns a damaged block's bytes).
TEST(DBLevelDBTest, FlippedBytesAreFoundByTheirChecksums) {
  TempDir dir;
  for (const std::string kind : {".log", ".ldb"}) {
    const std::string path = dir / ("db" + kind);
    MakeDatumDB(path, "leveldb", 40, 3, 32, 32);
    if (kind == ".ldb") ReadAllLevelDB(path);  // the log is replayed into a table
    std::string file;                          // the largest of its kind: the one with the data
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      const std::string name = entry.path().string();
      if (name.size() > 4 && name.substr(name.size() - 4) == kind &&
          (file.empty() || entry.file_size() > std::filesystem::file_size(file))) {
        file = name;
      }
    }
    ASSERT_FALSE(file.empty()) << "no " << kind << " file in " << path;
    {
      // A quarter in: past the log's first record header, inside the
      // table's first data block (its index and footer are at the end).
      const std::streamoff at = std::filesystem::file_size(file) / 4;
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(at);
      const char byte = static_cast<char>(f.get());
      f.seekp(at);
      f.put(static_cast<char>(byte ^ 0x10));
    }
    try {
      ReadAllLevelDB(path);
      ADD_FAILURE() << "a flipped byte in " << file << " was not noticed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("Corruption"), std::string::npos) << e.what();
    }
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

// Expects opening and reading the record file at `path` to fail with an
// error that holds `words`.
void ExpectRecordFileError(const std::string& path, const std::string& words) {
  try {
    auto db = db::GetDB("records");
    db->Open(path, db::READ);
    auto cursor = db->NewCursor();
    for (cursor->SeekToFirst(); cursor->valid(); cursor->Next()) cursor->value();
    FAIL() << "expected an error with '" << words << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DBRecordsTest, DamageIsFoundAndNamed) {
  TempDir dir;
  const std::string path = dir / "r";
  MakeDatumDB(path, "records", 3, 1, 2, 2);
  const std::string good = FileBytes(path);

  std::string bytes = good;
  bytes[bytes.size() - 1] ^= 0x10;  // the last value's last byte
  WriteBytes(path, bytes);
  ExpectRecordFileError(path, "record 2 (key " + Key(2) + ") fails its checksum");

  WriteBytes(path, good.substr(0, good.size() - 3));
  ExpectRecordFileError(path, "record 2 at offset");

  bytes = good;
  bytes[0] = 'X';
  WriteBytes(path, bytes);
  ExpectRecordFileError(path, "not a record file");

  bytes = good;
  bytes[8 + 4] = '\x7f';  // record 0's value length: 127 + ... bytes
  bytes[8 + 7] = '\x7f';
  WriteBytes(path, bytes);
  ExpectRecordFileError(path, "past the end of the file");
}

TEST(DBRecordsTest, KeysGoInIncreasingOrderAcrossCommits) {
  TempDir dir;
  auto db = db::GetDB("records");
  db->Open(dir / "r", db::NEW);
  auto txn = db->NewTransaction();
  txn->Put(Key(5), "a");
  txn->Commit();
  txn->Put(Key(3), "b");
  try {
    txn->Commit();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("increasing order"), std::string::npos) << e.what();
  }
  EXPECT_THROW(db::GetDB("records")->Open(dir / "r2", db::WRITE), Error);
}

TEST(DBRecordsTest, NoFileUnderItsNameUntilClosed) {
  TempDir dir;
  const std::string path = dir / "r";
  auto db = db::GetDB("records");
  db->Open(path, db::NEW);
  auto txn = db->NewTransaction();
  txn->Put(Key(0), "value");
  txn->Commit();
  EXPECT_FALSE(std::filesystem::exists(path));
  db->Close();
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
}

}  // namespace deepspark
