#include "deepspark/data_transformer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class DataTransformerTest : public ::testing::Test {
 protected:
  // 2 x 4 x 5 datum with distinct bytes.
  caffe::Datum datum_ = MakeDatum(3, 2, 4, 5);
  RngEngine rng_{1234};

  std::vector<Dtype> Run(const caffe::TransformationParameter& param, caffe::Phase phase,
                         const caffe::Datum& datum) {
    DataTransformer<Dtype> t(param, phase);
    std::vector<int> shape = t.InferItemShape(datum);
    std::vector<Dtype> out(shape[0] * shape[1] * shape[2]);
    t.Transform(datum, out.data(), &rng_);
    return out;
  }
  Dtype Pixel(int c, int h, int w) const {
    return static_cast<uint8_t>(datum_.data()[(c * 4 + h) * 5 + w]);
  }
};
TYPED_TEST_SUITE(DataTransformerTest, TestDtypes);

TYPED_TEST(DataTransformerTest, IdentityAndScale) {
  caffe::TransformationParameter param;
  param.set_scale(0.5);
  auto out = this->Run(param, caffe::TRAIN, this->datum_);
  ASSERT_EQ(out.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(out[i], TypeParam(static_cast<uint8_t>(this->datum_.data()[i])) * TypeParam(0.5));
  }
}

TYPED_TEST(DataTransformerTest, MeanValues) {
  caffe::TransformationParameter param;
  param.add_mean_value(10);
  auto out = this->Run(param, caffe::TEST, this->datum_);
  EXPECT_EQ(out[7], this->Pixel(0, 1, 2) - 10);
  param.add_mean_value(20);
  out = this->Run(param, caffe::TEST, this->datum_);
  EXPECT_EQ(out[7], this->Pixel(0, 1, 2) - 10);
  EXPECT_EQ(out[27], this->Pixel(1, 1, 2) - 20);
  param.add_mean_value(30);  // 3 values for 2 channels
  EXPECT_THROW(this->Run(param, caffe::TEST, this->datum_), Error);
}

TYPED_TEST(DataTransformerTest, CentreCropInTestWithMeanFile) {
  TempDir dir;
  caffe::BlobProto mean;
  mean.set_num(1);
  mean.set_channels(2);
  mean.set_height(4);
  mean.set_width(5);
  for (int i = 0; i < 40; ++i) mean.add_data(i * 0.25f);
  {
    std::ofstream out(dir / "mean.binaryproto", std::ios::binary);
    mean.SerializeToOstream(&out);
  }
  caffe::TransformationParameter param;
  param.set_crop_size(3);
  param.set_mean_file(dir / "mean.binaryproto");
  param.set_scale(2);
  auto out = this->Run(param, caffe::TEST, this->datum_);
  ASSERT_EQ(out.size(), 18u);
  // Centre: h_off = (4-3)/2 = 0, w_off = (5-3)/2 = 1.
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 3; ++w) {
        const int in = (c * 4 + h) * 5 + w + 1;
        EXPECT_FLOAT_EQ(out[(c * 3 + h) * 3 + w],
                        (this->Pixel(c, h, w + 1) - TypeParam(mean.data(in))) * 2);
      }
  // A mean of another shape is an error naming the file.
  caffe::Datum other = MakeDatum(0, 2, 5, 5);
  try {
    this->Run(param, caffe::TEST, other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mean.binaryproto"), std::string::npos);
  }
}

TYPED_TEST(DataTransformerTest, MeanFileErrors) {
  caffe::TransformationParameter param;
  param.set_mean_file("/nonexistent/mean.binaryproto");
  EXPECT_THROW(DataTransformer<TypeParam>(param, caffe::TEST), Error);
  param.add_mean_value(1);
  EXPECT_THROW(DataTransformer<TypeParam>(param, caffe::TEST), Error);
}

TYPED_TEST(DataTransformerTest, RandomCropAndMirrorInTrain) {
  caffe::TransformationParameter param;
  param.set_crop_size(2);
  param.set_mirror(true);
  std::set<std::vector<TypeParam>> seen;
  for (int trial = 0; trial < 200; ++trial) {
    auto out = this->Run(param, caffe::TRAIN, this->datum_);
    // Must equal some crop, mirrored or not.
    bool found = false;
    for (int h0 = 0; h0 <= 2 && !found; ++h0)
      for (int w0 = 0; w0 <= 3 && !found; ++w0)
        for (int m = 0; m < 2 && !found; ++m) {
          bool same = true;
          for (int c = 0; c < 2; ++c)
            for (int h = 0; h < 2; ++h)
              for (int w = 0; w < 2; ++w) {
                int src_w = m ? 1 - w : w;
                same &= out[(c * 2 + h) * 2 + w] == this->Pixel(c, h0 + h, w0 + src_w);
              }
          found = same;
        }
    EXPECT_TRUE(found);
    seen.insert(out);
  }
  // 3 x 4 offsets x 2 mirrors, all distinct for this datum.
  EXPECT_EQ(seen.size(), 24u);
}

TYPED_TEST(DataTransformerTest, MirrorInTestIsRandomToo) {
  caffe::TransformationParameter param;
  param.set_mirror(true);
  std::set<std::vector<TypeParam>> seen;
  for (int trial = 0; trial < 50; ++trial) seen.insert(this->Run(param, caffe::TEST, this->datum_));
  EXPECT_EQ(seen.size(), 2u);
}

TYPED_TEST(DataTransformerTest, FloatData) {
  caffe::Datum datum;
  datum.set_channels(1);
  datum.set_height(1);
  datum.set_width(3);
  for (float v : {1.5f, -2.f, 3.25f}) datum.add_float_data(v);
  caffe::TransformationParameter param;
  param.add_mean_value(1);
  auto out = this->Run(param, caffe::TEST, datum);
  EXPECT_EQ(out, (std::vector<TypeParam>{0.5, -3, 2.25}));
  datum.add_float_data(1);
  EXPECT_THROW(this->Run(param, caffe::TEST, datum), Error);
}

TYPED_TEST(DataTransformerTest, EncodedPng) {
  // A 3-channel 4x5 image; PNG is lossless so decoding gives the pixels back.
  cv::Mat image(4, 5, CV_8UC3);
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 5; ++w)
      for (int c = 0; c < 3; ++c) image.at<cv::Vec3b>(h, w)[c] = (h * 50 + w * 10 + c * 3) % 256;
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", image, png));
  caffe::Datum datum;
  datum.set_data(std::string(png.begin(), png.end()));
  datum.set_encoded(true);
  datum.set_label(7);
  caffe::TransformationParameter param;
  auto out = this->Run(param, caffe::TEST, datum);
  ASSERT_EQ(out.size(), 60u);
  for (int c = 0; c < 3; ++c)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 5; ++w) EXPECT_EQ(out[(c * 4 + h) * 5 + w], image.at<cv::Vec3b>(h, w)[c]);
  param.set_force_gray(true);
  EXPECT_EQ(this->Run(param, caffe::TEST, datum).size(), 20u);
  caffe::Datum decoded = datum;
  EXPECT_TRUE(DecodeDatumInPlace(&decoded, false, false));
  EXPECT_EQ(decoded.label(), 7);
  EXPECT_EQ(decoded.channels(), 3);
  EXPECT_FALSE(decoded.encoded());
  caffe::Datum junk;
  junk.set_data("not an image");
  junk.set_encoded(true);
  EXPECT_THROW(this->Run(caffe::TransformationParameter(), caffe::TEST, junk), Error);
  // An encoded Datum with no bytes made OpenCV throw its own exception
  // (found by fuzz_datum): the same Error.
  junk.set_data("");
  EXPECT_THROW(this->Run(caffe::TransformationParameter(), caffe::TEST, junk), Error);
}

// A record whose shape fields ask for more than it holds fails before
// anything is sized from them (fuzz_datum found a 511x1220x1279 header with
// no data, which sized a 3 GB blob); so do shapes whose product overflows.
TYPED_TEST(DataTransformerTest, ShapeFieldsAloneSizeNothing) {
  DataTransformer<TypeParam> t(caffe::TransformationParameter(), caffe::TEST);
  caffe::Datum header_only;
  header_only.set_channels(511);
  header_only.set_height(1220);
  header_only.set_width(1279);
  try {
    t.InferItemShape(header_only);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds 0 values but its shape 511x1220x1279"),
              std::string::npos)
        << e.what();
  }
  caffe::Datum overflowing = this->datum_;
  overflowing.set_channels(1 << 30);
  overflowing.set_height(1 << 30);
  overflowing.set_width(1 << 30);
  EXPECT_THROW(t.InferItemShape(overflowing), Error);
  std::vector<TypeParam> out(40);
  EXPECT_THROW(t.Transform(overflowing, out.data(), &this->rng_), Error);
}

}  // namespace deepspark
