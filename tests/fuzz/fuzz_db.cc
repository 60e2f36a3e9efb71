// Fuzz target: reading a damaged database, as `test`, `compute-image-mean`
// and the Data layer do: every key and Datum through a cursor. The first byte
// picks the backend (mod 3: LMDB, LevelDB, record file); the rest replaces
// the data file of a small valid database (LMDB: data.mdb; LevelDB: its
// table file; a record file whole), so the mutations start from a real file
// (seeds: scripts/fuzz.sh makes them).
#include <filesystem>
#include <memory>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "fuzz_util.hpp"

using namespace deepspark;
namespace fs = std::filesystem;

namespace {
// A valid LevelDB of 20 Datums, made once; each run copies it and replaces
// its (largest) table file with the input.
const std::string& LevelDbTemplate() {
  static const std::string dir = [] {
    const std::string d = fuzz::ScratchDir() + "/template_leveldb";
    auto db = db::GetDB("leveldb");
    db->Open(d, db::NEW);
    auto txn = db->NewTransaction();
    for (int i = 0; i < 20; ++i) {
      caffe::Datum datum;
      datum.set_channels(1);
      datum.set_height(4);
      datum.set_width(4);
      datum.set_label(i % 10);
      datum.set_data(std::string(16, static_cast<char>(i)));
      txn->Put("key" + std::to_string(i), datum.SerializeAsString());
    }
    txn->Commit();
    db->Close();
    return d;
  }();
  return dir;
}

fs::path LargestFile(const fs::path& dir) {
  fs::path best;
  uintmax_t size = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.file_size() >= size &&
        entry.path().filename().string().find("LOG") == std::string::npos &&
        entry.path().filename().string().find("MANIFEST") == std::string::npos &&
        entry.path().filename().string() != "CURRENT") {
      size = entry.file_size();
      best = entry.path();
    }
  }
  return best;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* const backends[] = {"lmdb", "leveldb", "records"};
  const std::string backend = backends[data[0] % 3];
  const fs::path dir = fs::path(fuzz::ScratchDir()) / "db";
  fs::remove_all(dir);
  if (backend == "records") {
    fuzz::WriteFile(dir.string(), data + 1, size - 1);
  } else if (backend == "leveldb") {
    fs::copy(LevelDbTemplate(), dir);
    fuzz::WriteFile(LargestFile(dir).string(), data + 1, size - 1);
  } else {
    fs::create_directories(dir);
    fuzz::WriteFile((dir / "data.mdb").string(), data + 1, size - 1);
  }
  try {
    auto db = db::GetDB(backend);
    db->Open(dir.string(), db::READ);
    int n = 0;
    for (auto cursor = db->NewCursor(); cursor->valid() && n < 10000; cursor->Next(), ++n) {
      caffe::Datum datum;
      datum.ParseFromString(cursor->value());
      (void)cursor->key();
    }
  } catch (const Error&) {
  }
  return 0;
}
