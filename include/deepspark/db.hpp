// Key-value databases of serialized Datums (Caffe's LMDB and LevelDB
// backends) and the process-wide data partition of distributed training.
//
// A DB is opened in one Mode; a Cursor walks keys in the backend's byte
// order; a Transaction buffers Puts until Commit. Errors (missing or corrupt
// database, failed writes) throw deepspark::Error naming the path.
// Thread safety: one DB object and its cursors/transactions belong to one
// thread; several DB objects may read the same database concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {
namespace db {

enum Mode { READ, WRITE, NEW };

class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void SeekToFirst() = 0;
  // Positions at `key` exactly; valid() is false when it is absent.
  virtual void Seek(const std::string& key) = 0;
  virtual void Next() = 0;
  virtual std::string key() const = 0;
  virtual std::string value() const = 0;
  virtual bool valid() const = 0;
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual void Put(const std::string& key, const std::string& value) = 0;
  // Writes everything Put since the last Commit.
  virtual void Commit() = 0;
};

class DB {
 public:
  virtual ~DB() = default;
  // READ: the database must exist. NEW: created (an existing LevelDB is an
  // error, as in Caffe; LMDB makes the directory). WRITE: opened for writing.
  virtual void Open(const std::string& source, Mode mode) = 0;
  virtual void Close() = 0;
  virtual std::unique_ptr<Cursor> NewCursor() = 0;
  virtual std::unique_ptr<Transaction> NewTransaction() = 0;
  virtual const std::string& source() const = 0;
};

// "lmdb", "leveldb" or "records" (case-insensitive); anything else throws.
std::unique_ptr<DB> GetDB(const std::string& backend);
std::unique_ptr<DB> GetDB(caffe::DataParameter::DB backend);

std::unique_ptr<DB> NewLMDB();
std::unique_ptr<DB> NewLevelDB();
// DeepSpark's record file (src/data/db_records.cc): a plain file written
// once, in key order, under a temporary name renamed at Close; only READ
// and NEW. What a Spark task spills its partition to.
std::unique_ptr<DB> NewRecordFile();
bool IsRecordFile(const std::string& path);

// The backend of an existing database at `path`: a record file, a LevelDB
// (a folder with CURRENT), else LMDB (also for a path that does not exist,
// whose open then fails naming it).
caffe::DataParameter::DB BackendOf(const std::string& path);

}  // namespace db

// A permutation of 0..n-1 drawn by Fisher-Yates from a generator seeded with
// `seed` (our own draws, so the order does not depend on the standard
// library's shuffle). Used for per-epoch shuffles: pass MixSeed(seed, epoch).
std::vector<uint32_t> SeededPermutation(size_t n, uint64_t seed);

}  // namespace deepspark
