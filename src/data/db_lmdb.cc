// LMDB backend, laid out as Caffe's db_lmdb: the environment is a directory
// (data.mdb + lock.mdb) holding the default unnamed database. Reads use
// MDB_RDONLY|MDB_NOTLS (falling back to MDB_NOLOCK on a read-only
// directory); writes are buffered and committed in one write transaction,
// doubling the map size whenever LMDB reports MDB_MAP_FULL.
//
// Damaged files: LMDB maps data.mdb and trusts it (it has no checksums), so
// a page past the end of a truncated file is a SIGBUS and a flipped size
// field a read past the map. What can be checked cheaply is checked before
// it is read: the file must hold every page its meta page says is in use
// (at open and at each cursor), and every key and value the cursor returns
// must lie inside the file's mapping (docs/reliability.md).
#include "deepspark/db.hpp"

#include <lmdb.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "deepspark/common.hpp"
#include "lmdb_check.hpp"

namespace deepspark {
namespace db {
namespace {

void CheckMdb(int rc, const std::string& source, const char* what) {
  REQUIRE(rc == MDB_SUCCESS) << "LMDB " << source << ": " << what << ": " << mdb_strerror(rc)
                             << (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND
                                     ? " (the database is damaged: copy or convert it again)"
                                     : "");
}

// The size of data.mdb now; throws if the file is shorter than the pages
// its newest meta page says are in use (a truncated copy or download). LMDB
// would map the missing pages and the first read of one would be a SIGBUS.
// Reads only the two meta pages, which mdb_env_open has already checked
// are there.
uint64_t CheckedFileSize(MDB_env* env, const std::string& source) {
  MDB_envinfo info;
  MDB_stat stat;
  CheckMdb(mdb_env_info(env, &info), source, "env info");
  CheckMdb(mdb_env_stat(env, &stat), source, "env stat");
  mdb_filehandle_t fd;
  CheckMdb(mdb_env_get_fd(env, &fd), source, "file handle");
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0) << "LMDB " << source
                               << ": cannot stat data.mdb: " << std::strerror(errno);
  const uint64_t used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  REQUIRE(size >= used) << "LMDB " << source << "/data.mdb is truncated: it holds " << size
                        << " bytes but its pages in use (" << info.me_last_pgno + 1 << " of "
                        << stat.ms_psize << " bytes) end at " << used
                        << "; copy or convert the database again";
  return size;
}

// Where this process maps data.mdb: the address ranges of its mappings
// (usually one; another DB object on the same file adds its own), each cut
// to the file's size, since a mapping extends past the end of the file and
// reading there is a SIGBUS. Found in /proc/self/maps by the file's device
// and inode (LMDB does not tell where it mapped the file). Empty when
// /proc is not there: then the cursor does not check its pointers.
std::vector<std::pair<uintptr_t, uintptr_t>> FileMappings(MDB_env* env, uint64_t file_size) {
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  mdb_filehandle_t fd;
  struct stat st;
  if (mdb_env_get_fd(env, &fd) != MDB_SUCCESS || fstat(fd, &st) != 0) return ranges;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // start-end perms offset major:minor inode [path]
    std::istringstream fields(line);
    std::string range, perms, dev;
    unsigned long long offset = 0, inode = 0;
    if (!(fields >> range >> perms >> std::hex >> offset >> dev >> std::dec >> inode)) continue;
    if (inode != static_cast<unsigned long long>(st.st_ino) || offset != 0) continue;
    unsigned dev_major = 0, dev_minor = 0;
    if (std::sscanf(dev.c_str(), "%x:%x", &dev_major, &dev_minor) != 2 ||
        dev_major != major(st.st_dev) || dev_minor != minor(st.st_dev)) {
      continue;
    }
    unsigned long long begin = 0, end = 0;
    if (std::sscanf(range.c_str(), "%llx-%llx", &begin, &end) != 2 || end <= begin) continue;
    if (end - begin > file_size) end = begin + file_size;
    ranges.emplace_back(static_cast<uintptr_t>(begin), static_cast<uintptr_t>(end));
  }
  return ranges;
}

class LMDBCursor : public Cursor {
 public:
  // `mapped`: where data.mdb is readable (FileMappings); empty: unchecked.
  LMDBCursor(MDB_txn* txn, MDB_cursor* cursor, std::string source,
             std::vector<std::pair<uintptr_t, uintptr_t>> mapped)
      : txn_(txn), cursor_(cursor), source_(std::move(source)), mapped_(std::move(mapped)) {
    try {
      SeekToFirst();
    } catch (...) {
      mdb_cursor_close(cursor_);
      mdb_txn_abort(txn_);
      throw;
    }
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
    // A damaged size or offset in a page points past the file: copying it
    // (value(), key()) would read past the end of the mapping.
    const bool key_inside = Inside(key_);
    REQUIRE(key_inside && Inside(value_))
        << "LMDB " << source_ << ": "
        << (key_inside ? "the value of key '" +
                             PrintableKey(static_cast<const char*>(key_.mv_data), key_.mv_size) +
                             "' (" + std::to_string(value_.mv_size) + " bytes)"
                       : "a key (" + std::to_string(key_.mv_size) + " bytes)")
        << " lies outside data.mdb: the database is damaged; copy or convert it again";
    valid_ = true;
  }
  bool Inside(const MDB_val& v) const {
    if (mapped_.empty()) return true;
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.mv_data);
    for (const auto& range : mapped_) {
      if (p >= range.first && p <= range.second && v.mv_size <= range.second - p) return true;
    }
    return false;
  }

  MDB_txn* txn_;
  MDB_cursor* cursor_;
  std::string source_;
  std::vector<std::pair<uintptr_t, uintptr_t>> mapped_;
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
    // liblmdb trusts the file: what would crash it is refused first.
    if (mode != NEW) CheckLmdbFile(source);
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
    // A truncated file was refused above (CheckLmdbFile); each cursor checks
    // again, for a file cut after this.
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
    std::vector<std::pair<uintptr_t, uintptr_t>> mapped;
    try {
      CheckMdb(rc, source_, "open cursor");
      // After the transaction began: the file then holds at least the pages
      // of the snapshot it reads (a writer writes its pages before its meta
      // page). Also catches a file truncated since Open.
      mapped = FileMappings(env_, CheckedFileSize(env_, source_));
    } catch (...) {
      if (cursor) mdb_cursor_close(cursor);
      mdb_txn_abort(txn);
      throw;
    }
    return std::make_unique<LMDBCursor>(txn, cursor, source_, std::move(mapped));
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
