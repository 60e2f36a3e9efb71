// DeepSpark's record file: one plain file of key/value records, written once
// from start to end and read by position. It is what a Spark task spills its
// partition to (docs/spark.md, "Streaming input"): appending costs one write
// per record, no tree, no map size, and the file is about the size of the
// values themselves (encoded images stay encoded), where an LMDB copy needs
// its B-tree, page slack and a transaction per commit.
//
// Layout (all integers little-endian):
//   8 bytes     magic "DSRECRD1"
//   per record  u32 key length, u32 value length,
//               u32 CRC-32 (zlib's) of the key bytes followed by the value bytes,
//               key bytes, value bytes
// Keys are strictly increasing in byte order (a Transaction sorts what it
// holds; a commit whose first key is not above the last written one is an
// error), so a cursor walks them as the other backends do and Seek is a
// binary search of the index built at Open. A file is written under a
// temporary name and renamed at Close, so a reader never sees half of one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"

namespace deepspark {
namespace db {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'R', 'E', 'C', 'R', 'D', '1'};
constexpr size_t kHeaderBytes = 12;
// Far above any Datum key or image; a length beyond these is damage.
constexpr uint32_t kMaxKeyBytes = 1u << 16;
constexpr uint32_t kMaxValueBytes = 1u << 30;

uint32_t ReadU32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t RecordCrc(const std::string& key, const std::string& value) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  crc = crc32(crc, reinterpret_cast<const Bytef*>(value.data()), static_cast<uInt>(value.size()));
  return static_cast<uint32_t>(crc);
}

// Reads exactly n bytes at offset, or throws naming the file.
void ReadAt(int fd, const std::string& source, uint64_t offset, size_t n, void* out) {
  char* p = static_cast<char*>(out);
  while (n > 0) {
    ssize_t got = pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    REQUIRE(got > 0) << "record file " << source << ": cannot read " << n << " bytes at offset "
                     << offset
                     << (got < 0 ? std::string(": ") + std::strerror(errno)
                                 : std::string(": the file ends there"));
    p += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<size_t>(got);
  }
}

struct Index {
  std::vector<std::string> keys;
  std::vector<uint64_t> offsets;  // of each record's value
  std::vector<uint32_t> value_bytes;
  std::vector<uint32_t> crcs;
};

class RecordCursor : public Cursor {
 public:
  RecordCursor(int fd, const std::string& source, const Index& index)
      : fd_(fd), source_(source), index_(index) {}
  void SeekToFirst() override { Go(0); }
  void Seek(const std::string& key) override {
    auto it = std::lower_bound(index_.keys.begin(), index_.keys.end(), key);
    Go(it != index_.keys.end() && *it == key ? static_cast<size_t>(it - index_.keys.begin())
                                             : index_.keys.size());
  }
  void Next() override { Go(position_ + 1); }
  std::string key() const override {
    CHECK(valid()) << "record cursor past the end";
    return index_.keys[position_];
  }
  std::string value() const override {
    CHECK(valid()) << "record cursor past the end";
    if (!loaded_) {
      value_.resize(index_.value_bytes[position_]);
      ReadAt(fd_, source_, index_.offsets[position_], value_.size(), value_.data());
      REQUIRE(RecordCrc(index_.keys[position_], value_) == index_.crcs[position_])
          << "record file " << source_ << ": record " << position_ << " (key "
          << index_.keys[position_] << ") fails its checksum: the file is damaged";
      loaded_ = true;
    }
    return value_;
  }
  bool valid() const override { return position_ < index_.keys.size(); }

 private:
  void Go(size_t position) {
    position_ = std::min(position, index_.keys.size());
    loaded_ = false;
  }
  int fd_;
  const std::string& source_;
  const Index& index_;
  size_t position_ = 0;
  mutable std::string value_;
  mutable bool loaded_ = false;
};

class RecordFile;

class RecordTransaction : public Transaction {
 public:
  explicit RecordTransaction(RecordFile* file) : file_(file) {}
  // The last Put of a key wins, as in LMDB and LevelDB.
  void Put(const std::string& key, const std::string& value) override { pending_[key] = value; }
  void Commit() override;

 private:
  RecordFile* file_;
  std::map<std::string, std::string> pending_;
};

class RecordFile : public DB {
 public:
  // Committed records persist, as in the other backends: a file being
  // written is finished (a process that dies first leaves only its
  // temporary, never a cut file under the name).
  ~RecordFile() override {
    try {
      Close();
    } catch (const Error& e) {
      LOG(ERROR) << e.what();
    }
    Abandon();
  }

  void Open(const std::string& source, Mode mode) override {
    Close();
    Abandon();
    source_ = source;
    if (mode == READ) {
      OpenForReading();
      return;
    }
    REQUIRE(mode == NEW) << "record file " << source
                         << ": record files are written once, whole (open it NEW)";
    struct stat st;
    REQUIRE(stat(source.c_str(), &st) != 0)
        << "cannot create record file " << source << ": it exists";
    temp_path_ = source + ".partial";
    fd_ = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd_ >= 0) << "cannot create record file " << source << ": " << std::strerror(errno);
    Append(std::string(kMagic, sizeof(kMagic)));
  }

  // Finishes a file being written (renamed to its name: complete from here
  // on); a file being read is just closed.
  void Close() override {
    if (fd_ < 0) return;
    if (!temp_path_.empty()) {
      const bool synced = fsync(fd_) == 0;
      const int err = errno;
      close(fd_);
      fd_ = -1;
      REQUIRE(synced) << "record file " << source_ << ": " << std::strerror(err);
      REQUIRE(rename(temp_path_.c_str(), source_.c_str()) == 0)
          << "cannot write record file " << source_ << ": " << std::strerror(errno);
      temp_path_.clear();
      return;
    }
    close(fd_);
    fd_ = -1;
  }

  std::unique_ptr<Cursor> NewCursor() override {
    CHECK(fd_ >= 0 && temp_path_.empty()) << "record file not open for reading";
    return std::make_unique<RecordCursor>(fd_, source_, index_);
  }
  std::unique_ptr<Transaction> NewTransaction() override {
    CHECK(fd_ >= 0 && !temp_path_.empty()) << "record file not open for writing";
    return std::make_unique<RecordTransaction>(this);
  }
  const std::string& source() const override { return source_; }

  void AppendRecords(const std::map<std::string, std::string>& records) {
    CHECK(fd_ >= 0 && !temp_path_.empty()) << "record file not open for writing";
    if (records.empty()) return;
    REQUIRE(!has_last_key_ || records.begin()->first > last_key_)
        << "record file " << source_ << ": key " << records.begin()->first << " written after key "
        << last_key_ << " (keys go in increasing order)";
    std::string out;
    for (const auto& [key, value] : records) {
      REQUIRE(key.size() <= kMaxKeyBytes && value.size() <= kMaxValueBytes)
          << "record file " << source_ << ": key " << key << " or its value is too large";
      PutU32(&out, static_cast<uint32_t>(key.size()));
      PutU32(&out, static_cast<uint32_t>(value.size()));
      PutU32(&out, RecordCrc(key, value));
      out += key;
      out += value;
    }
    Append(out);
    last_key_ = records.rbegin()->first;
    has_last_key_ = true;
  }

 private:
  void Append(const std::string& bytes) {
    const char* p = bytes.data();
    size_t n = bytes.size();
    while (n > 0) {
      ssize_t put = write(fd_, p, n);
      if (put < 0 && errno == EINTR) continue;
      REQUIRE(put > 0) << "cannot write record file " << source_ << ": " << std::strerror(errno);
      p += put;
      n -= static_cast<size_t>(put);
    }
  }

  // Forgets the open file; one still being written is removed (its name
  // stays free).
  void Abandon() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (!temp_path_.empty()) unlink(temp_path_.c_str());
    temp_path_.clear();
    index_ = Index();
    has_last_key_ = false;
  }

  void OpenForReading() {
    fd_ = open(source_.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd_ >= 0) << "record file " << source_ << " cannot be opened: " << std::strerror(errno);
    struct stat st;
    REQUIRE(fstat(fd_, &st) == 0 && S_ISREG(st.st_mode))
        << "record file " << source_ << " is not a regular file";
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    char magic[sizeof(kMagic)];
    REQUIRE(size >= sizeof(kMagic)) << "record file " << source_ << " is not a record file";
    ReadAt(fd_, source_, 0, sizeof(magic), magic);
    REQUIRE(std::memcmp(magic, kMagic, sizeof(kMagic)) == 0)
        << "record file " << source_ << " is not a record file (no DSRECRD1 magic)";
    uint64_t offset = sizeof(kMagic);
    while (offset < size) {
      const size_t record = index_.keys.size();
      REQUIRE(size - offset >= kHeaderBytes)
          << "record file " << source_ << ": record " << record << " at offset " << offset
          << " is cut short (the file is truncated)";
      unsigned char header[kHeaderBytes];
      ReadAt(fd_, source_, offset, sizeof(header), header);
      const uint32_t key_bytes = ReadU32(header), value_bytes = ReadU32(header + 4);
      REQUIRE(key_bytes <= kMaxKeyBytes && value_bytes <= kMaxValueBytes &&
              size - offset - kHeaderBytes >= uint64_t(key_bytes) + value_bytes)
          << "record file " << source_ << ": record " << record << " at offset " << offset
          << " claims " << key_bytes << " + " << value_bytes
          << " bytes, past the end of the file (truncated or damaged)";
      std::string key(key_bytes, '\0');
      ReadAt(fd_, source_, offset + kHeaderBytes, key_bytes, key.data());
      REQUIRE(index_.keys.empty() || key > index_.keys.back())
          << "record file " << source_ << ": record " << record << " at offset " << offset
          << " has key " << key << ", not above the key before it (damaged)";
      index_.keys.push_back(std::move(key));
      index_.offsets.push_back(offset + kHeaderBytes + key_bytes);
      index_.value_bytes.push_back(value_bytes);
      index_.crcs.push_back(ReadU32(header + 8));
      offset += kHeaderBytes + key_bytes + value_bytes;
    }
  }

  std::string source_;
  std::string temp_path_;  // set while writing
  int fd_ = -1;
  Index index_;
  std::string last_key_;
  bool has_last_key_ = false;
};

void RecordTransaction::Commit() {
  file_->AppendRecords(pending_);
  pending_.clear();
}

}  // namespace

std::unique_ptr<DB> NewRecordFile() { return std::make_unique<RecordFile>(); }

bool IsRecordFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char magic[sizeof(kMagic)];
  const bool is = pread(fd, magic, sizeof(magic), 0) == static_cast<ssize_t>(sizeof(magic)) &&
                  std::memcmp(magic, kMagic, sizeof(kMagic)) == 0;
  close(fd);
  return is;
}

}  // namespace db
}  // namespace deepspark
