#include "data/image_header.hpp"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"

namespace deepspark {
namespace {

std::string Encode(const std::string& ext, int rows, int cols) {
  cv::Mat image(rows, cols, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes));
  return std::string(bytes.begin(), bytes.end());
}

std::string ErrorOf(const std::string& bytes) {
  try {
    CheckEncodedImageHeader(bytes.data(), bytes.size());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ImageHeaderTest, ReadsTheSizeOfWhatOpenCvWrites) {
  for (const std::string ext : {".jpg", ".png", ".bmp"}) {
    const std::string bytes = Encode(ext, 4, 5);
    const ImageHeader h = CheckEncodedImageHeader(bytes.data(), bytes.size());
    EXPECT_EQ(h.width, 5) << ext;
    EXPECT_EQ(h.height, 4) << ext;
  }
  EXPECT_EQ(CheckEncodedImageHeader(Encode(".png", 2, 3).data(), 64).format, "PNG");
}

// A header claiming more pixels than any training image is refused before
// OpenCV allocates for it (it decodes up to 2^30 pixels: 3 GB of colour).
TEST(ImageHeaderTest, HugeImagesAreRefusedFromTheirHeader) {
  std::string png = Encode(".png", 4, 5);
  png[16] = png[20] = 0x00;
  png[17] = png[21] = 0x01;  // 65536+ wide and high
  EXPECT_NE(ErrorOf(png).find("more than the 67108864 pixels"), std::string::npos) << ErrorOf(png);

  std::string jpeg = Encode(".jpg", 4, 5);
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  for (int i = 5; i < 9; ++i) jpeg[sof + i] = '\xFF';  // 65535 x 65535
  EXPECT_NE(ErrorOf(jpeg).find("JPEG image of 65535 x 65535"), std::string::npos) << ErrorOf(jpeg);

  std::string bmp = Encode(".bmp", 4, 5);
  bmp[20] = bmp[24] = 0x01;  // 65541 x 65540
  EXPECT_NE(ErrorOf(bmp).find("BMP image of 65541 x 65540"), std::string::npos) << ErrorOf(bmp);
}

TEST(ImageHeaderTest, OtherFormatsAndDamagedHeadersAreRefused) {
  // fuzz_datum found a DICOM header (decoded through GDCM) that claimed a
  // multi-gigabyte image.
  std::string dicom(128, '\0');
  dicom += "DICM";
  EXPECT_NE(ErrorOf(dicom).find("not a JPEG, PNG or BMP image"), std::string::npos)
      << ErrorOf(dicom);
  EXPECT_NE(ErrorOf("").find("starts with nothing"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string("\xFF\xD8\xFF\xE0\x00", 5)).find("cut short"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string("\xFF\xD8\xFF\xD9", 4)).find("ends before its frame header"),
            std::string::npos);
  std::string png = Encode(".png", 4, 5);
  EXPECT_NE(ErrorOf(png.substr(0, 20)).find("no IHDR"), std::string::npos);
  png[16] = png[17] = png[18] = png[19] = 0;
  EXPECT_NE(ErrorOf(png).find("PNG image of 0 x 4"), std::string::npos) << ErrorOf(png);
}

// Through the Datum decoding the Data layer uses.
TEST(ImageHeaderTest, DecodingAnEncodedDatumChecksItsHeaderFirst) {
  caffe::Datum datum;
  datum.set_encoded(true);
  std::string png = Encode(".png", 4, 5);
  png[16] = png[20] = 0x7F;  // about 2^31 x 2^31
  datum.set_data(png);
  EXPECT_THROW(DecodeDatumInPlace(&datum, false, false), Error);
  datum.set_data(Encode(".png", 4, 5));
  EXPECT_TRUE(DecodeDatumInPlace(&datum, false, false));
  EXPECT_EQ(datum.width(), 5);
}

}  // namespace
}  // namespace deepspark
