// Backend selection and the process-wide data partition.
#include "deepspark/db.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "deepspark/common.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace db {

std::unique_ptr<DB> GetDB(const std::string& backend) {
  std::string name = backend;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "lmdb") return NewLMDB();
  if (name == "leveldb") return NewLevelDB();
  if (name == "records") return NewRecordFile();
  THROW_ERROR() << "unknown database backend '" << backend << "' (known: lmdb, leveldb, records)";
  return nullptr;
}

std::unique_ptr<DB> GetDB(caffe::DataParameter::DB backend) {
  switch (backend) {
    case caffe::DataParameter::LMDB:
      return NewLMDB();
    case caffe::DataParameter::LEVELDB:
      return NewLevelDB();
    case caffe::DataParameter::RECORDS:
      return NewRecordFile();
  }
  THROW_ERROR() << "unknown database backend " << static_cast<int>(backend);
  return nullptr;
}

caffe::DataParameter::DB BackendOf(const std::string& path) {
  if (IsRecordFile(path)) return caffe::DataParameter::RECORDS;
  struct stat st;
  if (stat((path + "/CURRENT").c_str(), &st) == 0) return caffe::DataParameter::LEVELDB;
  return caffe::DataParameter::LMDB;
}

}  // namespace db

std::vector<uint32_t> SeededPermutation(size_t n, uint64_t seed) {
  std::vector<uint32_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  RngEngine engine(seq);
  for (size_t i = n; i > 1; --i) {
    size_t j = engine() % i;
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

}  // namespace deepspark
