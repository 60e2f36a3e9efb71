// The layout checked here is LMDB's (mdb.c, data format 1, 64-bit):
//  - page: pgno (u64) | pad (u16) | flags (u16) | lower (u16) upper (u16),
//    or, on an overflow page, the page count (u32) in place of lower/upper;
//    then the node offsets (u16 each) from byte 16 up to `lower`, the nodes
//    from `upper` to the end of the page;
//  - node: lo (u16) | hi (u16) | flags (u16) | key size (u16) | key | data;
//    a branch node's child page is lo | hi << 16 | flags << 32, a leaf
//    node's data size lo | hi << 16, and with F_BIGDATA its data is the
//    number of the overflow page that holds the value;
//  - meta pages 0 and 1: page header, magic (u32) | version (u32) | address
//    (u64) | map size (u64) | free DB (48 bytes; its first u32 the page size)
//    | main DB (48 bytes; its flags (u16) at +4, its root page at +40) | last
//    page (u64) | txn id.
#include "lmdb_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {
namespace db {
namespace {

constexpr uint32_t kMagic = 0xBEEFC0DE;
constexpr size_t kPageHeader = 16, kNodeHeader = 8;
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04;
constexpr uint16_t kBigData = 0x01;
constexpr uint64_t kNoPage = ~uint64_t{0};
constexpr int kMaxDepth = 64;

template <typename T>
T Load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

class FileReader {
 public:
  FileReader(const std::string& path) : path_(path), fd_(open(path.c_str(), O_RDONLY)) {}
  ~FileReader() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  uint64_t size() const {
    struct stat st;
    return fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  // Reads `bytes` at `offset` into `out`; false past the end of the file.
  bool Read(uint64_t offset, size_t bytes, unsigned char* out) const {
    size_t done = 0;
    while (done < bytes) {
      const ssize_t n = pread(fd_, out + done, bytes - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  std::string path_;
  int fd_;
};

struct Meta {
  uint32_t psize = 0;
  uint16_t main_flags = 0;
  uint64_t root = kNoPage, last_page = 0, txnid = 0;
};

}  // namespace

std::string PrintableKey(const char* data, size_t size) {
  std::string out;
  for (size_t i = 0; i < size && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  if (size > 64) out += "...";
  return out;
}

void CheckLmdbFile(const std::string& source) {
  const std::string path = source + "/data.mdb";
  FileReader file(path);
  if (!file.ok()) return;  // LMDB says what is wrong with a missing file
  const uint64_t file_size = file.size();
  auto damaged = [&path](const std::string& what) {
    THROW_ERROR() << "LMDB " << path << " is damaged: " << what
                  << " (copy or convert the database again)";
  };

  // The two meta pages; the newer (larger transaction id) is the one read.
  Meta metas[2];
  for (int m = 0; m < 2; ++m) {
    unsigned char meta[152];
    const uint64_t offset = m == 0 ? 0 : metas[0].psize;
    if (!file.Read(offset, sizeof(meta), meta)) {
      THROW_ERROR() << "LMDB " << path << " is too short for its two meta pages";
    }
    if (Load<uint32_t>(meta + 16) != kMagic || Load<uint32_t>(meta + 20) != 1) {
      THROW_ERROR() << "LMDB " << path << ": meta page " << m
                    << " is not an LMDB meta page of format 1 (the file is damaged or not LMDB)";
    }
    Meta& x = metas[m];
    x.psize = Load<uint32_t>(meta + 40);
    if (x.psize < 512 || x.psize > 65536 || (x.psize & (x.psize - 1)) != 0) {
      THROW_ERROR() << "LMDB " << path << ": meta page " << m << " gives a page size of " << x.psize
                    << " bytes: the file is damaged";
    }
    x.main_flags = Load<uint16_t>(meta + 92);
    x.root = Load<uint64_t>(meta + 128);
    x.last_page = Load<uint64_t>(meta + 136);
    x.txnid = Load<uint64_t>(meta + 144);
  }
  if (metas[0].psize != metas[1].psize) damaged("its meta pages give different page sizes");
  // liblmdb opens the newer meta page (the larger transaction id), but its
  // read transactions (through the lock file) then use the meta page that
  // id's parity names: transaction t is written to page t & 1. A file where
  // the two differ would be read through a meta page this walk never saw
  // (found by tests/fuzz/fuzz_db.cc: liblmdb asserted on its root).
  const int newer = metas[1].txnid > metas[0].txnid ? 1 : 0;
  if (static_cast<int>(metas[newer].txnid & 1) != newer) {
    damaged("meta page " + std::to_string(newer) + " holds transaction " +
            std::to_string(metas[newer].txnid) + ", which belongs in meta page " +
            std::to_string(metas[newer].txnid & 1));
  }
  const Meta& meta = metas[newer];
  if (meta.main_flags != 0) {
    // Sorted duplicates, integer or reversed keys: never written by Caffe's
    // tools or ours, and liblmdb trusts a key's size under them.
    damaged("its main database has flags " + std::to_string(meta.main_flags) +
            " (not a Caffe dataset)");
  }
  const uint64_t psize = meta.psize;
  if (meta.last_page >= file_size / psize) {
    THROW_ERROR() << "LMDB " << path << " is truncated: it holds " << file_size
                  << " bytes but its pages in use (" << meta.last_page + 1 << " of " << psize
                  << " bytes) end at " << (meta.last_page + 1) * psize
                  << "; copy or convert the database again";
  }
  const uint64_t pages = meta.last_page + 1;
  if (meta.root == kNoPage) return;  // an empty database

  // Depth-first over the main database's tree, each page read once.
  std::vector<unsigned char> page(psize), overflow(kPageHeader);
  std::vector<std::pair<uint64_t, int>> stack = {{meta.root, 1}};
  uint64_t visited = 0;
  while (!stack.empty()) {
    const uint64_t pgno = stack.back().first;
    const int depth = stack.back().second;
    stack.pop_back();
    const std::string where = "page " + std::to_string(pgno);
    if (pgno < 2 || pgno >= pages) damaged(where + " lies outside the file's pages in use");
    if (depth > kMaxDepth) damaged(where + " is deeper than any LMDB tree");
    if (++visited > pages) damaged("its tree has a cycle");
    if (!file.Read(pgno * psize, psize, page.data())) damaged(where + " cannot be read");
    const unsigned char* p = page.data();
    const uint16_t flags = Load<uint16_t>(p + 10);
    const uint16_t lower = Load<uint16_t>(p + 12), upper = Load<uint16_t>(p + 14);
    if (Load<uint64_t>(p) != pgno)
      damaged(where + " says it is page " + std::to_string(Load<uint64_t>(p)));
    // On disk a tree page's flags are exactly P_BRANCH or P_LEAF (P_DIRTY and
    // the other in-memory bits are cleared before a page is written; P_LEAF2
    // and P_SUBP belong to sorted duplicates, which Caffe never writes).
    const bool branch = flags == kBranch;
    const bool leaf = flags == kLeaf;
    if (!branch && !leaf) {
      char hex[16];
      std::snprintf(hex, sizeof(hex), "0x%x", flags);
      damaged(where + " is neither a branch nor a leaf page of the tree (flags " + hex + ")");
    }
    if (lower < kPageHeader || lower > upper || upper > psize || (lower & 1)) {
      damaged(where + " has impossible bounds (" + std::to_string(lower) + ", " +
              std::to_string(upper) + ")");
    }
    const int keys = (lower - kPageHeader) / 2;
    // LMDB never leaves a page of the tree empty (an emptied database's root
    // is P_INVALID); on an empty leaf mdb_cursor_first read node 0 anyway, at
    // an offset from outside the page (found by fuzz_db: a SEGV).
    if (keys < 1) damaged(where + " has no entries");
    for (int i = 0; i < keys; ++i) {
      const uint16_t off = Load<uint16_t>(p + kPageHeader + 2 * i);
      const std::string node = where + ", node " + std::to_string(i);
      if (off < upper || off + kNodeHeader > psize) damaged(node + " lies outside its page");
      const unsigned char* n = p + off;
      const uint16_t lo = Load<uint16_t>(n), hi = Load<uint16_t>(n + 2);
      const uint16_t node_flags = Load<uint16_t>(n + 4), key_size = Load<uint16_t>(n + 6);
      const uint64_t data_at = off + kNodeHeader + key_size;
      if (data_at > psize) damaged(node + " has a key running past its page");
      const std::string entry =
          node + " (key '" +
          PrintableKey(reinterpret_cast<const char*>(n + kNodeHeader), key_size) + "')";
      if (branch) {
        const uint64_t child = lo | (uint64_t{hi} << 16) | (uint64_t{node_flags} << 32);
        stack.push_back({child, depth + 1});
        continue;
      }
      const uint64_t data_size = lo | (uint64_t{hi} << 16);
      if (node_flags == 0) {
        if (data_at + data_size > psize) damaged(entry + " has a value running past its page");
      } else if (node_flags == kBigData) {
        if (data_at + 8 > psize) damaged(entry + " has a value reference running past its page");
        const uint64_t first = Load<uint64_t>(n + kNodeHeader + key_size);
        const uint64_t needed = (kPageHeader - 1 + data_size) / psize + 1;
        if (first < 2 || first >= pages || needed > pages - first) {
          damaged(entry + " has a value on pages " + std::to_string(first) + "+" +
                  std::to_string(needed) + ", outside the file's pages in use");
        }
        if (!file.Read(first * psize, kPageHeader, overflow.data()) ||
            Load<uint64_t>(overflow.data()) != first ||
            !(Load<uint16_t>(overflow.data() + 10) & kOverflow) ||
            Load<uint32_t>(overflow.data() + 12) < needed) {
          damaged(entry + " refers to page " + std::to_string(first) +
                  ", which is not the overflow page of its value");
        }
      } else {
        // Sub-databases and sorted duplicates: never written by Caffe's
        // tools or ours, and nothing here reads them.
        damaged(entry + " has flags " + std::to_string(node_flags) +
                " (sub-databases or duplicates; not a Caffe dataset)");
      }
    }
  }
}

}  // namespace db
}  // namespace deepspark
