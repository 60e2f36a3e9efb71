// Header layouts: JPEG (ITU T.81 B.2: markers 0xFF xx; segments carry a
// big-endian 16-bit length that counts itself; a frame header SOFn gives
// precision, height, width), PNG (8-byte signature, then the IHDR chunk:
// length, type, big-endian width and height), BMP ("BM", the info header's
// size at 14; 12-byte OS/2 headers hold 16-bit dimensions at 18 and 20, all
// others signed 32-bit ones at 18 and 22, a negative height meaning top-down).
#include "image_header.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "deepspark/common.hpp"

namespace deepspark {
namespace {

uint32_t BigEndian16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint32_t LittleEndian32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::string FirstBytes(const unsigned char* p, size_t size) {
  std::string out;
  for (size_t i = 0; i < size && i < 8; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof(hex), "%s%02x", i ? " " : "", p[i]);
    out += hex;
  }
  return out.empty() ? "nothing" : out;
}

// The first frame header, walking the markers as libjpeg does (bytes that
// are not a marker are skipped, as its next_marker does), so the size read
// here is the one the decoder will use.
ImageHeader ReadJpeg(const unsigned char* p, size_t size) {
  ImageHeader h;
  h.format = "JPEG";
  size_t pos = 2;  // after SOI
  while (true) {
    while (pos < size && p[pos] != 0xFF) ++pos;
    while (pos < size && p[pos] == 0xFF) ++pos;
    REQUIRE(pos < size) << "encoded JPEG image: no frame header before the end of its " << size
                        << " bytes";
    const unsigned char marker = p[pos++];
    const bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      REQUIRE(pos + 7 <= size) << "encoded JPEG image: its frame header is cut short";
      h.height = BigEndian16(p + pos + 3);
      h.width = BigEndian16(p + pos + 5);
      return h;
    }
    if ((marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) continue;  // no length
    REQUIRE(marker != 0xD9 && marker != 0xDA)
        << "encoded JPEG image: " << (marker == 0xD9 ? "it ends" : "its scan starts")
        << " before its frame header";
    REQUIRE(pos + 2 <= size) << "encoded JPEG image: a segment is cut short";
    const uint32_t length = BigEndian16(p + pos);
    REQUIRE(length >= 2) << "encoded JPEG image: a segment of length " << length;
    pos += length;
  }
}

}  // namespace

ImageHeader CheckEncodedImageHeader(const void* bytes, size_t size) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  ImageHeader h;
  if (size >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    h = ReadJpeg(p, size);
  } else if (size >= 8 && std::equal(kPng, kPng + 8, p)) {
    h.format = "PNG";
    REQUIRE(size >= 24 && std::equal(p + 12, p + 16, "IHDR"))
        << "encoded PNG image: no IHDR chunk after its signature";
    h.width = BigEndian32(p + 16);
    h.height = BigEndian32(p + 20);
  } else if (size >= 2 && p[0] == 'B' && p[1] == 'M') {
    h.format = "BMP";
    REQUIRE(size >= 26) << "encoded BMP image: its header is cut short (" << size << " bytes)";
    if (LittleEndian32(p + 14) == 12) {
      h.width = p[18] | (p[19] << 8);
      h.height = p[20] | (p[21] << 8);
    } else {
      h.width = static_cast<int32_t>(LittleEndian32(p + 18));
      h.height = std::llabs(static_cast<int32_t>(LittleEndian32(p + 22)));
    }
  } else {
    THROW_ERROR() << "an encoded Datum that is not a JPEG, PNG or BMP image (the encodings "
                     "DeepSpark decodes; it starts with "
                  << FirstBytes(p, size) << ")";
  }
  REQUIRE(h.width > 0 && h.height > 0)
      << "encoded " << h.format << " image of " << h.width << " x " << h.height << " pixels";
  REQUIRE(h.width <= kMaxDecodedPixels && h.height <= kMaxDecodedPixels / h.width)
      << "encoded " << h.format << " image of " << h.width << " x " << h.height
      << " pixels: more than the " << kMaxDecodedPixels << " pixels DeepSpark decodes";
  return h;
}

}  // namespace deepspark
