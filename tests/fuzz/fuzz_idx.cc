// Fuzz target: the MNIST IDX reader of `convert-mnist` (gzipped or plain
// files): the input is split into an image file and a label file (the first
// two bytes give the image file's length), converted into a fresh LMDB.
#include <filesystem>

#include "deepspark/common.hpp"
#include "deepspark/tools.hpp"
#include "fuzz_util.hpp"

using namespace deepspark;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t image_bytes = std::min<size_t>(size - 2, (size_t{data[0]} << 8) | data[1]);
  const std::string dir = fuzz::ScratchDir();
  const std::string images = dir + "/images.idx", labels = dir + "/labels.idx";
  const std::string db = dir + "/mnist_lmdb";
  fuzz::WriteFile(images, data + 2, image_bytes);
  fuzz::WriteFile(labels, data + 2 + image_bytes, size - 2 - image_bytes);
  std::filesystem::remove_all(db);
  try {
    ConvertMnist(images, labels, db, "lmdb");
  } catch (const Error&) {
  }
  return 0;
}
