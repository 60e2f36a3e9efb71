// LMDB backend, laid out as Caffe's db_lmdb: the environment is a directory
// (data.mdb + lock.mdb) holding the default unnamed database. Reads use
// MDB_RDONLY|MDB_NOTLS (falling back to MDB_NOLOCK on a read-only
// directory); writes are buffered and committed in one write transaction,
// doubling the map size whenever LMDB reports MDB_MAP_FULL.
#include "deepspark/db.hpp"

#include <lmdb.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {
namespace db {
namespace {

void CheckMdb(int rc, const std::string& source, const char* what) {
  REQUIRE(rc == MDB_SUCCESS) << "LMDB " << source << ": " << what << ": " << mdb_strerror(rc);
}

class LMDBCursor : public Cursor {
 public:
  LMDBCursor(MDB_txn* txn, MDB_cursor* cursor, std::string source)
      : txn_(txn), cursor_(cursor), source_(std::move(source)) {
    SeekToFirst();
  }
  ~LMDBCursor() override {
    mdb_cursor_close(cursor_);
    mdb_txn_abort(txn_);
  }
  void SeekToFirst() override { Move(MDB_FIRST); }
  void Next() override { Move(MDB_NEXT); }
  void Seek(const std::string& key) override {
    key_.mv_size = key.size();
    key_.mv_data = const_cast<char*>(key.data());
    Move(MDB_SET_KEY);
  }
  std::string key() const override {
    return std::string(static_cast<const char*>(key_.mv_data), key_.mv_size);
  }
  std::string value() const override {
    return std::string(static_cast<const char*>(value_.mv_data), value_.mv_size);
  }
  bool valid() const override { return valid_; }

 private:
  void Move(MDB_cursor_op op) {
    int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
    if (rc == MDB_NOTFOUND) {
      valid_ = false;
      return;
    }
    CheckMdb(rc, source_, "cursor");
    valid_ = true;
  }

  MDB_txn* txn_;
  MDB_cursor* cursor_;
  std::string source_;
  MDB_val key_{}, value_{};
  bool valid_ = false;
};

class LMDBTransaction : public Transaction {
 public:
  LMDBTransaction(MDB_env* env, std::string source) : env_(env), source_(std::move(source)) {}
  void Put(const std::string& key, const std::string& value) override {
    keys_.push_back(key);
    values_.push_back(value);
  }
  void Commit() override {
    while (!TryCommit()) {
      DoubleMapSize();
    }
    keys_.clear();
    values_.clear();
  }

 private:
  // False when the map is full (nothing was written); throws on other errors.
  bool TryCommit() {
    MDB_txn* txn = nullptr;
    CheckMdb(mdb_txn_begin(env_, nullptr, 0, &txn), source_, "begin write transaction");
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      CheckMdb(rc, source_, "open database");
    }
    for (size_t i = 0; i < keys_.size(); ++i) {
      MDB_val k{keys_[i].size(), const_cast<char*>(keys_[i].data())};
      MDB_val v{values_[i].size(), const_cast<char*>(values_[i].data())};
      rc = mdb_put(txn, dbi, &k, &v, 0);
      if (rc != MDB_SUCCESS) break;
    }
    if (rc == MDB_SUCCESS) {
      rc = mdb_txn_commit(txn);
    } else {
      mdb_txn_abort(txn);
    }
    if (rc == MDB_MAP_FULL) return false;
    CheckMdb(rc, source_, "write");
    return true;
  }
  void DoubleMapSize() {
    MDB_envinfo info;
    CheckMdb(mdb_env_info(env_, &info), source_, "env info");
    size_t new_size = info.me_mapsize * 2;
    CheckMdb(mdb_env_set_mapsize(env_, new_size), source_, "grow map");
  }

  MDB_env* env_;
  std::string source_;
  std::vector<std::string> keys_, values_;
};

class LMDB : public DB {
 public:
  ~LMDB() override { Close(); }
  void Open(const std::string& source, Mode mode) override {
    Close();
    source_ = source;
    struct stat st;
    if (mode == NEW) {
      REQUIRE(mkdir(source.c_str(), 0744) == 0)
          << "cannot create LMDB " << source << ": " << std::strerror(errno);
    } else {
      REQUIRE(stat(source.c_str(), &st) == 0)
          << "LMDB " << source << " does not exist: " << std::strerror(errno);
      REQUIRE(S_ISDIR(st.st_mode)) << "LMDB " << source << " is not a directory";
    }
    CheckMdb(mdb_env_create(&env_), source, "create environment");
    if (mode != READ) {
      CheckMdb(mdb_env_set_mapsize(env_, size_t(1) << 26), source, "set map size");
    }
    unsigned flags = mode == READ ? (MDB_RDONLY | MDB_NOTLS) : 0;
    int rc = mdb_env_open(env_, source.c_str(), flags, 0664);
    if (mode == READ && (rc == EACCES || rc == EROFS)) {
      // A read-only directory cannot hold lock.mdb: read without locking.
      mdb_env_close(env_);
      CheckMdb(mdb_env_create(&env_), source, "create environment");
      rc = mdb_env_open(env_, source.c_str(), flags | MDB_NOLOCK, 0664);
    }
    if (rc != MDB_SUCCESS) {
      mdb_env_close(env_);
      env_ = nullptr;
      CheckMdb(rc, source, "open");
    }
    read_only_ = mode == READ;
  }
  void Close() override {
    if (env_) {
      mdb_env_close(env_);
      env_ = nullptr;
    }
  }
  std::unique_ptr<Cursor> NewCursor() override {
    CHECK(env_) << "LMDB not open";
    MDB_txn* txn = nullptr;
    CheckMdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), source_, "begin read transaction");
    MDB_dbi dbi;
    MDB_cursor* cursor = nullptr;
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    if (rc == MDB_SUCCESS) rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      CheckMdb(rc, source_, "open cursor");
    }
    return std::make_unique<LMDBCursor>(txn, cursor, source_);
  }
  std::unique_ptr<Transaction> NewTransaction() override {
    CHECK(env_) << "LMDB not open";
    REQUIRE(!read_only_) << "LMDB " << source_ << " was opened for reading";
    return std::make_unique<LMDBTransaction>(env_, source_);
  }
  const std::string& source() const override { return source_; }

 private:
  MDB_env* env_ = nullptr;
  std::string source_;
  bool read_only_ = true;
};

}  // namespace

std::unique_ptr<DB> NewLMDB() { return std::make_unique<LMDB>(); }

}  // namespace db
}  // namespace deepspark
