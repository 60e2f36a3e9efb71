// Helpers for the data tests: temporary directories, fixture copies (the
// shared fixtures may be read-only) and small Datum databases.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "deepspark/db.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "deepspark_data_XXXXXX");
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    char* made = mkdtemp(buffer.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Copies a fixture directory to dest and makes the copy writable.
inline void CopyFixture(const std::string& from, const std::string& dest) {
  namespace fs = std::filesystem;
  fs::copy(from, dest, fs::copy_options::recursive);
  fs::permissions(dest, fs::perms::owner_all, fs::perm_options::add);
  for (auto& entry : fs::recursive_directory_iterator(dest)) {
    fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::add);
  }
}

// Item i: channels x height x width bytes (i*7 + j) % 256 and label i;
// keys "%08d".
inline caffe::Datum MakeDatum(int i, int channels, int height, int width) {
  caffe::Datum datum;
  datum.set_channels(channels);
  datum.set_height(height);
  datum.set_width(width);
  datum.set_label(i);
  std::string data(channels * height * width, '\0');
  for (size_t j = 0; j < data.size(); ++j) data[j] = static_cast<char>((i * 7 + j * 3) % 256);
  datum.set_data(data);
  return datum;
}

inline std::string Key(int i) {
  char key[16];
  snprintf(key, sizeof(key), "%08d", i);
  return key;
}

inline void MakeDatumDB(const std::string& path, const std::string& backend, int n, int channels,
                        int height, int width) {
  auto db = db::GetDB(backend);
  db->Open(path, db::NEW);
  auto txn = db->NewTransaction();
  for (int i = 0; i < n; ++i) {
    txn->Put(Key(i), MakeDatum(i, channels, height, width).SerializeAsString());
  }
  txn->Commit();
  db->Close();
}

}  // namespace deepspark
