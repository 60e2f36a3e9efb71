// convert-imageset (Caffe's convert_imageset) and the progress line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"
#include "deepspark/db.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/progress.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {
namespace {

// Three 5x4 colour PNGs (one with a space in its name) and a grey one, with
// a list file naming them; Tests convert them.
class ConvertImagesetTest : public ::testing::Test {
 protected:
  ConvertImagesetTest() {
    std::filesystem::create_directories(dir_ / "images/sub");
    names_ = {"a.png", "sub/b c.png", "c.png"};
    for (int i = 0; i < 3; ++i) {
      cv::Mat image(4, 5, CV_8UC3);
      for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 5; ++x) {
          image.at<cv::Vec3b>(y, x) = cv::Vec3b(10 * i + x, 50 + y, 200 - i);
        }
      }
      cv::imwrite(dir_ / ("images/" + names_[i]), image);
    }
    std::ofstream list(dir_ / "list.txt");
    for (int i = 0; i < 3; ++i) list << names_[i] << " " << i + 3 << "\n";
  }
  ConvertImagesetOptions Options(const std::string& db = "db") {
    ConvertImagesetOptions opt;
    opt.root_folder = dir_ / "images/";
    opt.list_file = dir_ / "list.txt";
    opt.db_path = dir_ / db;
    return opt;
  }
  std::vector<std::pair<std::string, caffe::Datum>> Read(const std::string& db_name) {
    auto db = db::GetDB("lmdb");
    db->Open(dir_ / db_name, db::READ);
    std::vector<std::pair<std::string, caffe::Datum>> out;
    for (auto c = db->NewCursor(); c->valid(); c->Next()) {
      caffe::Datum d;
      EXPECT_TRUE(d.ParseFromString(c->value()));
      out.emplace_back(c->key(), d);
    }
    return out;
  }
  static std::string ErrorOf(const ConvertImagesetOptions& opt) {
    try {
      ConvertImageset(opt);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  TempDir dir_;
  std::vector<std::string> names_;
};

TEST_F(ConvertImagesetTest, RawDatumsInListOrderWithCaffesKeys) {
  EXPECT_EQ(ConvertImageset(Options()), 3);
  auto items = Read("db");
  ASSERT_EQ(items.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "%08d_", i);
    EXPECT_EQ(items[i].first, key + names_[i]);
    const caffe::Datum& d = items[i].second;
    EXPECT_EQ(d.channels(), 3);
    EXPECT_EQ(d.height(), 4);
    EXPECT_EQ(d.width(), 5);
    EXPECT_EQ(d.label(), i + 3);
    EXPECT_FALSE(d.encoded());
    // CHW, BGR as OpenCV reads it: channel 0 (blue) of pixel (y, x) is 10i + x.
    ASSERT_EQ(d.data().size(), 60u);
    EXPECT_EQ(static_cast<uint8_t>(d.data()[0 * 20 + 1 * 5 + 2]), 10 * i + 2);
    EXPECT_EQ(static_cast<uint8_t>(d.data()[1 * 20 + 3 * 5 + 0]), 53);
    EXPECT_EQ(static_cast<uint8_t>(d.data()[2 * 20]), 200 - i);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "db.partial"));
}

TEST_F(ConvertImagesetTest, EncodedKeepsTheFileOrReencodes) {
  ConvertImagesetOptions opt = Options();
  opt.encoded = true;
  ConvertImageset(opt);
  auto items = Read("db");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[1].second.encoded());
  EXPECT_EQ(items[1].second.data(), ReadFileToString(dir_ / "images/sub/b c.png"));
  EXPECT_FALSE(items[1].second.has_channels());

  opt = Options("jpg");
  opt.encode_type = "JPG";  // implies encoded, case-insensitive
  ConvertImageset(opt);
  items = Read("jpg");
  EXPECT_EQ(items[0].second.data().substr(0, 2), "\xff\xd8");
  caffe::Datum decoded = items[0].second;
  EXPECT_TRUE(DecodeDatumInPlace(&decoded, false, false));
  EXPECT_EQ(decoded.height(), 4);
}

TEST_F(ConvertImagesetTest, GrayResizeAndShuffle) {
  ConvertImagesetOptions opt = Options();
  opt.gray = true;
  opt.resize_height = 2;
  opt.resize_width = 3;
  ConvertImageset(opt);
  for (const auto& [key, d] : Read("db")) {
    EXPECT_EQ(d.channels(), 1);
    EXPECT_EQ(d.height(), 2);
    EXPECT_EQ(d.width(), 3);
  }
  opt = Options("shuffled");
  opt.shuffle = true;
  opt.shuffle_seed = 4;
  ConvertImageset(opt);
  std::set<std::string> names;
  std::vector<int> labels;
  for (const auto& [key, d] : Read("shuffled")) {
    names.insert(key.substr(9));
    labels.push_back(d.label());
  }
  EXPECT_EQ(names, std::set<std::string>(names_.begin(), names_.end()));
  opt = Options("again");
  opt.shuffle = true;
  opt.shuffle_seed = 4;
  ConvertImageset(opt);
  std::vector<int> again;
  for (const auto& [key, d] : Read("again")) again.push_back(d.label());
  EXPECT_EQ(labels, again);  // the seed decides the order
}

TEST_F(ConvertImagesetTest, TheDataLayerReadsIt) {
  ConvertImageset(Options());
  caffe::LayerParameter param;
  param.set_name("data");
  param.set_type("Data");
  param.mutable_data_param()->set_source(dir_ / "db");
  param.mutable_data_param()->set_backend(caffe::DataParameter::LMDB);
  param.mutable_data_param()->set_batch_size(3);
  auto layer = LayerRegistry<float>::CreateLayer(param);
  Blob<float> data, label;
  std::vector<Blob<float>*> bottom, top{&data, &label};
  layer->SetUp(bottom, top);
  layer->Forward(bottom, top);
  EXPECT_EQ(data.shape(), (std::vector<int>{3, 3, 4, 5}));
  EXPECT_EQ(std::vector<float>(label.cpu_data(), label.cpu_data() + 3),
            (std::vector<float>{3, 4, 5}));
}

TEST_F(ConvertImagesetTest, BadInputIsNamedAndLeavesNoDatabase) {
  {
    std::ofstream list(dir_ / "list.txt", std::ios::app);
    list << "missing.png 1\n";
  }
  std::string error = ErrorOf(Options());
  EXPECT_NE(error.find("image 4 of 4"), std::string::npos) << error;
  EXPECT_NE(error.find("missing.png"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "db.partial"));

  std::ofstream(dir_ / "list.txt") << "a.png 1\nc.png x\n";
  error = ErrorOf(Options());
  EXPECT_NE(error.find("line 2: label 'x'"), std::string::npos) << error;

  cv::imwrite(dir_ / "images/c.png", cv::Mat(7, 7, CV_8UC3, cv::Scalar(1, 2, 3)));
  std::ofstream(dir_ / "list.txt") << "a.png 1\nc.png 2\n";
  ConvertImagesetOptions opt = Options();
  opt.check_size = true;
  error = ErrorOf(opt);
  EXPECT_NE(error.find("--check_size"), std::string::npos) << error;

  ConvertImageset(Options("exists"));
  error = ErrorOf(Options("exists"));
  EXPECT_NE(error.find("exists"), std::string::npos) << error;
}

TEST(ProgressMeterTest, LineHasRateAndEta) {
  ProgressMeter meter("files", 1000);
  EXPECT_EQ(meter.Line(250, 5.0), "Processed 250 of 1000 files (25.0%), 50 files/s, ETA 15 s");
  EXPECT_EQ(meter.Line(1000, 20.0), "Processed 1000 of 1000 files (100.0%), 50 files/s");
  ProgressMeter open_ended("iterations", 0);
  EXPECT_EQ(open_ended.Line(30, 3.0), "Processed 30 iterations, 10 iterations/s");
  EXPECT_EQ(FormatDuration(200), "3 min 20 s");
  EXPECT_EQ(FormatDuration(3900), "1 h 05 min");
}

}  // namespace
}  // namespace deepspark
