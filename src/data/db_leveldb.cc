// LevelDB backend with Caffe's options (64 KiB blocks, 256 MiB write
// buffer, 100 open files). A Transaction is a WriteBatch.
//
// Unlike Caffe, reads verify LevelDB's checksums: every block's CRC32C as
// it is read, and the write-ahead log's records as it is replayed at open
// (paranoid_checks; without it a damaged record is dropped without a word,
// and a dataset under 256 MiB lives only in its log). A flipped bit is an
// error naming the database, not a wrong image.
#include "deepspark/db.hpp"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "deepspark/common.hpp"

namespace deepspark {
namespace db {
namespace {

class LevelDBCursor : public Cursor {
 public:
  LevelDBCursor(leveldb::Iterator* iter, std::string source)
      : iter_(iter), source_(std::move(source)) {
    SeekToFirst();
  }
  void SeekToFirst() override {
    iter_->SeekToFirst();
    Check();
  }
  void Seek(const std::string& key) override {
    iter_->Seek(key);
    Check();
    exact_ = iter_->Valid() && iter_->key().ToString() == key;
  }
  void Next() override {
    iter_->Next();
    Check();
  }
  std::string key() const override { return iter_->key().ToString(); }
  std::string value() const override { return iter_->value().ToString(); }
  bool valid() const override { return iter_->Valid() && exact_; }

 private:
  void Check() {
    exact_ = true;
    REQUIRE(iter_->status().ok()) << "LevelDB " << source_ << ": " << iter_->status().ToString();
  }
  std::unique_ptr<leveldb::Iterator> iter_;
  std::string source_;
  bool exact_ = true;
};

class LevelDBTransaction : public Transaction {
 public:
  LevelDBTransaction(leveldb::DB* db, std::string source) : db_(db), source_(std::move(source)) {}
  void Put(const std::string& key, const std::string& value) override { batch_.Put(key, value); }
  void Commit() override {
    leveldb::Status status = db_->Write(leveldb::WriteOptions(), &batch_);
    REQUIRE(status.ok()) << "LevelDB " << source_ << ": write failed: " << status.ToString();
    batch_.Clear();
  }

 private:
  leveldb::DB* db_;
  std::string source_;
  leveldb::WriteBatch batch_;
};

class LevelDB : public DB {
 public:
  void Open(const std::string& source, Mode mode) override {
    Close();
    source_ = source;
    leveldb::Options options;
    options.block_size = 65536;
    options.write_buffer_size = 268435456;
    options.max_open_files = 100;
    options.paranoid_checks = true;
    options.error_if_exists = mode == NEW;
    options.create_if_missing = mode != READ;
    leveldb::DB* db = nullptr;
    leveldb::Status status = leveldb::DB::Open(options, source, &db);
    REQUIRE(status.ok()) << "cannot open LevelDB " << source << ": " << status.ToString();
    db_.reset(db);
  }
  void Close() override { db_.reset(); }
  std::unique_ptr<Cursor> NewCursor() override {
    CHECK(db_) << "LevelDB not open";
    leveldb::ReadOptions read_options;
    read_options.verify_checksums = true;
    return std::make_unique<LevelDBCursor>(db_->NewIterator(read_options), source_);
  }
  std::unique_ptr<Transaction> NewTransaction() override {
    CHECK(db_) << "LevelDB not open";
    return std::make_unique<LevelDBTransaction>(db_.get(), source_);
  }
  const std::string& source() const override { return source_; }

 private:
  std::unique_ptr<leveldb::DB> db_;
  std::string source_;
};

}  // namespace

std::unique_ptr<DB> NewLevelDB() { return std::make_unique<LevelDB>(); }

}  // namespace db
}  // namespace deepspark
