// The size an encoded image claims, read from its header before any decoder
// sees it: OpenCV sizes its buffers from that header (up to 2^30 pixels), so
// one damaged or crafted record in a dataset could make a reader allocate
// gigabytes (found by tests/fuzz/fuzz_datum.cc with a DICOM header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace deepspark {

// Decoded images larger than this are refused: 64 megapixels (8192 x 8192),
// 192 MB of 8-bit colour; far beyond any training image.
constexpr int64_t kMaxDecodedPixels = int64_t{1} << 26;

struct ImageHeader {
  std::string format;  // "JPEG", "PNG" or "BMP"
  int64_t width = 0, height = 0;
};

// Reads the format and size of an encoded image. Throws deepspark::Error
// for a format other than JPEG, PNG or BMP (the encodings Caffe's tools
// write; naming the bytes it starts with), for a header it cannot read,
// and for an image of more than kMaxDecodedPixels. Thread-safe.
ImageHeader CheckEncodedImageHeader(const void* bytes, size_t size);

}  // namespace deepspark
