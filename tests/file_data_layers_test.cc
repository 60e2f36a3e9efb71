// ImageData and HDF5Data layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class FileDataLayersTest : public ::testing::Test {
 protected:
  FileDataLayersTest() : seed_(RandomSeed()) {}
  ~FileDataLayersTest() override { SetRandomSeed(seed_); }

  // Images i = 0..n-1 of 3 x 4 pixels, BGR value (i, 2i, 3i), labels 10+i.
  void MakeImages(int n) {
    std::ofstream list(dir_ / "list.txt");
    for (int i = 0; i < n; ++i) {
      cv::Mat image(3, 4, CV_8UC3, cv::Scalar(i, 2 * i, 3 * i));
      const std::string name = "img " + std::to_string(i) + ".png";  // a space in the name
      ASSERT_TRUE(cv::imwrite(dir_ / name, image));
      list << name << " " << 10 + i << "\n";
    }
  }
  caffe::LayerParameter ImageParam(int batch_size) {
    caffe::LayerParameter param;
    param.set_type("ImageData");
    param.set_phase(caffe::TRAIN);
    caffe::ImageDataParameter* p = param.mutable_image_data_param();
    p->set_source(dir_ / "list.txt");
    p->set_root_folder(dir_.path() + "/");
    p->set_batch_size(batch_size);
    return param;
  }
  std::vector<Dtype> Labels() { return {b_.cpu_data(), b_.cpu_data() + b_.count()}; }

  int64_t seed_;
  TempDir dir_;
  Blob<Dtype> a_, b_, c_;
  std::vector<Blob<Dtype>*> bottom_, top_{&a_, &b_};
};
TYPED_TEST_SUITE(FileDataLayersTest, TestDtypes);

TYPED_TEST(FileDataLayersTest, ImageDataInOrderResizedAndWrapping) {
  this->MakeImages(3);
  caffe::LayerParameter param = this->ImageParam(2);
  param.mutable_image_data_param()->set_new_height(5);
  param.mutable_image_data_param()->set_new_width(6);
  auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{2, 3, 5, 6}));
  layer->Forward(this->bottom_, this->top_);
  EXPECT_EQ(this->Labels(), (std::vector<TypeParam>{10, 11}));
  EXPECT_EQ(this->a_.data_at(1, 0, 2, 3), 1);
  EXPECT_EQ(this->a_.data_at(1, 2, 4, 5), 3);
  layer->Forward(this->bottom_, this->top_);
  EXPECT_EQ(this->Labels(), (std::vector<TypeParam>{12, 10}));
  param.mutable_image_data_param()->set_is_color(false);
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(1), 1);
}

TYPED_TEST(FileDataLayersTest, ImageDataShuffleAndSeek) {
  SetRandomSeed(3);
  this->MakeImages(5);
  caffe::LayerParameter param = this->ImageParam(2);
  param.mutable_image_data_param()->set_shuffle(true);
  auto a = LayerRegistry<TypeParam>::CreateLayer(param);
  a->SetUp(this->bottom_, this->top_);
  std::vector<TypeParam> seen;
  std::vector<std::vector<TypeParam>> batches;
  for (int b = 0; b < 5; ++b) {
    a->Forward(this->bottom_, this->top_);
    batches.push_back(this->Labels());
    seen.insert(seen.end(), batches.back().begin(), batches.back().end());
  }
  std::vector<TypeParam> epoch0(seen.begin(), seen.begin() + 5);
  std::sort(epoch0.begin(), epoch0.end());
  EXPECT_EQ(epoch0, (std::vector<TypeParam>{10, 11, 12, 13, 14}));
  auto b = LayerRegistry<TypeParam>::CreateLayer(param);
  b->SetUp(this->bottom_, this->top_);
  b->SeekData(3);
  b->Forward(this->bottom_, this->top_);
  EXPECT_EQ(this->Labels(), batches[3]);
}

TYPED_TEST(FileDataLayersTest, ImageDataErrors) {
  this->MakeImages(1);
  caffe::LayerParameter param = this->ImageParam(1);
  {
    std::ofstream list(this->dir_ / "list.txt", std::ios::app);
    list << "missing.png 3\n";
  }
  auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  layer->Forward(this->bottom_, this->top_);
  try {
    layer->Forward(this->bottom_, this->top_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos) << e.what();
  }
  {
    std::ofstream list(this->dir_ / "list.txt", std::ios::app);
    list << "nolabel\n";
  }
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  try {
    layer->SetUp(this->bottom_, this->top_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("list.txt:3"), std::string::npos) << e.what();
  }
}

TYPED_TEST(FileDataLayersTest, HDF5DataFixture) {
  const std::string fixture = CaffeZooDir() + "/bvlc/src/caffe/test/test_data/sample_data.h5";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "no fixture " << fixture;
  {
    std::ofstream list(this->dir_ / "h5list.txt");
    list << fixture << "\n" << fixture << "\n";
  }
  caffe::LayerParameter param;
  param.set_type("HDF5Data");
  param.add_top("data");
  param.add_top("label");
  param.add_top("label2");
  param.mutable_hdf5_data_param()->set_source(this->dir_ / "h5list.txt");
  param.mutable_hdf5_data_param()->set_batch_size(5);
  std::vector<Blob<TypeParam>*> top{&this->a_, &this->b_, &this->c_};
  auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, top);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{5, 8, 6, 5}));
  EXPECT_EQ(this->b_.shape(), (std::vector<int>{5, 1}));
  EXPECT_EQ(this->c_.shape(), (std::vector<int>{5, 1}));
  // Caffe's generated fixture: data = 0, 1, 2, ... ; label = 1 + row;
  // label2 = label + 1. 10 rows per file, two files.
  for (int step = 0; step < 5; ++step) {
    layer->Forward(this->bottom_, top);
    for (int i = 0; i < 5; ++i) {
      const int row = (step * 5 + i) % 10;
      EXPECT_EQ(this->b_.cpu_data()[i], 1 + row);
      EXPECT_EQ(this->c_.cpu_data()[i], 2 + row);
      EXPECT_EQ(this->a_.cpu_data()[i * 240 + 7], row * 240 + 7);
    }
  }
  layer->SeekData(3);
  layer->Forward(this->bottom_, top);
  EXPECT_EQ(this->b_.cpu_data()[0], 6);
  // The gzip-compressed fixture reads too (libhdf5's deflate filter).
  {
    std::ofstream list(this->dir_ / "h5list.txt");
    list << CaffeZooDir() + "/bvlc/src/caffe/test/test_data/sample_data_2_gzip.h5\n";
  }
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, top);
  layer->Forward(this->bottom_, top);
  EXPECT_EQ(this->a_.shape(1), 8);
  EXPECT_GT(this->a_.asum_data(), 0);
  param.set_top(2, "nosuch");
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  EXPECT_THROW(layer->SetUp(this->bottom_, top), Error);
}

}  // namespace deepspark
