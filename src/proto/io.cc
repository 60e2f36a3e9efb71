// Reading and writing protobuf text and binary files (see io.hpp).
#include "deepspark/io.hpp"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "deepspark/common.hpp"
#include "deepspark/upgrade_proto.hpp"

namespace deepspark {
namespace {

using google::protobuf::Message;

// Protobuf's column of byte `index` in `line`: tabs advance to the next
// multiple of 8 (see google/protobuf/io/tokenizer.h).
int ProtobufColumn(const std::string& line, size_t index) {
  int col = 0;
  for (size_t i = 0; i < index && i < line.size(); ++i) {
    col = line[i] == '\t' ? (col + 8) / 8 * 8 : col + 1;
  }
  return col;
}

// Keeps the first error the text parser reports, as "source:line:col: message"
// with 1-based line and column (protobuf reports them 0-based).
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  FirstErrorCollector(const std::string& source, const std::string& text)
      : source_(source), text_(text) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    ++count_;
    if (count_ > 1) return;
    std::ostringstream os;
    os << source_;
    // Line -1 means "the whole input" (e.g. missing required fields).
    if (line >= 0) os << ":" << line + 1 << ":" << FieldStartColumn(line, column, message) + 1;
    os << ": " << message;
    first_ = os.str();
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    LOG(WARNING) << source_ << ":" << line + 1 << ":" << column + 1 << ": " << message;
  }

  int count() const { return count_; }
  const std::string& first() const { return first_; }

 private:
  // Protobuf reports an unknown field at the token after its name; point at
  // the name itself, which is where a user looks for the typo.
  int FieldStartColumn(int line, int column, const std::string& message) const {
    static const std::string kMarker = "has no field named \"";
    size_t m = message.find(kMarker);
    if (m == std::string::npos) return column;
    size_t name_begin = m + kMarker.size();
    size_t name_end = message.find('"', name_begin);
    if (name_end == std::string::npos) return column;
    const std::string name = message.substr(name_begin, name_end - name_begin);
    // Find the text of line `line`.
    size_t pos = 0;
    for (int i = 0; i < line && pos != std::string::npos; ++i) {
      pos = text_.find('\n', pos);
      if (pos != std::string::npos) ++pos;
    }
    if (pos == std::string::npos) return column;
    size_t eol = text_.find('\n', pos);
    const std::string text_line = text_.substr(pos, eol == std::string::npos ? eol : eol - pos);
    // The last occurrence of the name that starts before the reported column.
    int best = -1;
    for (size_t at = text_line.find(name); at != std::string::npos;
         at = text_line.find(name, at + 1)) {
      int col = ProtobufColumn(text_line, at);
      if (col >= column) break;
      best = col;
    }
    return best >= 0 ? best : column;
  }

  std::string source_;
  const std::string& text_;
  std::string first_;
  int count_ = 0;
};

std::string ErrnoText(int err) { return std::strerror(err); }

// Opens a file for reading; throws "cannot open <file>: <reason>".
int OpenForReading(const std::string& filename) {
  int fd = ::open(filename.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) THROW_ERROR() << "cannot open " << filename << ": " << ErrnoText(errno);
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    THROW_ERROR() << "cannot open " << filename << ": " << ErrnoText(EISDIR);
  }
  return fd;
}

// Writes all of `bytes` to fd; returns 0 or the errno of the failure.
int WriteAll(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

std::string ReadFileToString(const std::string& filename) {
  int fd = OpenForReading(filename);
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      THROW_ERROR() << "cannot read " << filename << ": " << ErrnoText(err);
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

bool FileExists(const std::string& filename) {
  struct stat st;
  return ::stat(filename.c_str(), &st) == 0;
}

void WriteFileAtomically(const std::string& filename, const std::string& bytes, unsigned mode) {
  // A name no one can guess or prepare: pid plus a random suffix, and
  // O_EXCL refuses anything already there (a stale temporary, a symlink).
  std::random_device random;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%08x", static_cast<unsigned>(random()));
    tmp = filename + ".tmp." + std::to_string(::getpid()) + "." + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                static_cast<mode_t>(mode));
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) THROW_ERROR() << "cannot write " << filename << ": " << ErrnoText(errno);
  int err = WriteAll(fd, bytes);
  // fsync before rename: otherwise a crash after the rename could leave an
  // empty file under the final name on some file systems.
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), filename.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    THROW_ERROR() << "cannot write " << filename << ": " << ErrnoText(err);
  }
}

bool CanCreateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(path.c_str());
  return true;
}

void ReadProtoFromTextString(const std::string& text, const std::string& source, Message* proto) {
  CHECK(proto != nullptr);
  FirstErrorCollector errors(source, text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  proto->Clear();
  const bool ok = parser.ParseFromString(text, proto);
  if (!ok || errors.count() > 0) {
    if (errors.count() == 0) {
      THROW_ERROR() << source << ": not a valid " << proto->GetTypeName();
    }
    THROW_ERROR() << errors.first();
  }
}

void ReadProtoFromTextFile(const std::string& filename, Message* proto) {
  ReadProtoFromTextString(ReadFileToString(filename), filename, proto);
}

void ReadProtoFromBinaryFile(const std::string& filename, Message* proto) {
  CHECK(proto != nullptr);
  int fd = OpenForReading(filename);
  bool ok;
  int read_errno;
  {
    google::protobuf::io::FileInputStream raw(fd);
    google::protobuf::io::CodedInputStream coded(&raw);
    // Caffe's limit: models up to 2 GB - 1 (protobuf's default is 64 MB).
    coded.SetTotalBytesLimit(INT_MAX);
    proto->Clear();
    ok = proto->ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    read_errno = raw.GetErrno();
  }
  ::close(fd);
  if (read_errno != 0) {
    THROW_ERROR() << "cannot read " << filename << ": " << ErrnoText(read_errno);
  }
  if (!ok) {
    THROW_ERROR() << filename << ": not a valid " << proto->GetTypeName()
                  << " (truncated or corrupt)";
  }
}

void WriteProtoToTextFile(const Message& proto, const std::string& filename) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(proto, &text)) {
    THROW_ERROR() << "cannot write " << filename << ": failed to print " << proto.GetTypeName()
                  << " as text";
  }
  WriteFileAtomically(filename, text);
}

void WriteProtoToBinaryFile(const Message& proto, const std::string& filename) {
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    THROW_ERROR() << "cannot write " << filename << ": failed to serialize " << proto.GetTypeName()
                  << " (missing required fields or over 2 GB)";
  }
  WriteFileAtomically(filename, bytes);
}

void ReadNetParamsFromTextFile(const std::string& filename, caffe::NetParameter* param) {
  ReadProtoFromTextFile(filename, param);
  UpgradeNetAsNeeded(filename, param);
}

void ReadNetParamsFromBinaryFile(const std::string& filename, caffe::NetParameter* param) {
  ReadProtoFromBinaryFile(filename, param);
  UpgradeNetAsNeeded(filename, param);
}

void ReadSolverParamsFromTextFile(const std::string& filename, caffe::SolverParameter* param) {
  ReadProtoFromTextFile(filename, param);
  UpgradeSolverAsNeeded(filename, param);
  UpgradeSnapshotPrefixProperty(filename, param);
}

}  // namespace deepspark
