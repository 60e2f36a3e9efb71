#include "deepspark/layers/window_data_layer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "deepspark/rng.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

// Two flat-coloured 40 x 30 PNGs: image 0 BGR (10, 20, 30), whose windows
// are background; image 1 BGR (200, 100, 50), whose windows are objects.
template <typename Dtype>
class WindowDataLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ds_window_data_XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    dir_ = dir;
    cv::imwrite(dir_ + "/a.png", cv::Mat(30, 40, CV_8UC3, cv::Scalar(10, 20, 30)));
    cv::imwrite(dir_ + "/b.png", cv::Mat(30, 40, CV_8UC3, cv::Scalar(200, 100, 50)));
    WriteWindows(
        "# 0\na.png\n3\n30\n40\n2\n0 0.1 0 0 19 14\n3 0.3 5 5 30 25\n"
        "# 1\nb.png\n3 30 40\n3\n1 0.9 10 5 29 24\n2 0.7 0 0 39 29\n1 0.6 3 3 9 9\n");
    SetRandomSeed(1701);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  void WriteWindows(const std::string& text) { std::ofstream(dir_ + "/windows.txt") << text; }
  caffe::LayerParameter Param(const std::string& extra) {
    return ParseLayer("name: 'win' type: 'WindowData' transform_param { crop_size: 8 " + extra +
                      " } window_data_param { source: '" + dir_ + "/windows.txt' root_folder: '" +
                      dir_ + "/' batch_size: 4 fg_fraction: 0.5 scale: 0.5 }");
  }
  void Run(WindowDataLayer<Dtype>* layer) {
    layer->SetUp({}, tops_);
    layer->Forward({}, tops_);
  }

  std::string dir_;
  Blob<Dtype> data_, label_;
  std::vector<Blob<Dtype>*> tops_{&data_, &label_};
};
TYPED_TEST_SUITE(WindowDataLayerTest, TestDtypes);

TYPED_TEST(WindowDataLayerTest, BackgroundThenForegroundWindowsWarped) {
  WindowDataLayer<TypeParam> layer(this->Param("mean_value: 1 mean_value: 2 mean_value: 3"));
  this->Run(&layer);
  ASSERT_EQ(this->data_.shape(), (std::vector<int>{4, 3, 8, 8}));
  ASSERT_EQ(this->label_.shape(), (std::vector<int>{4}));
  const double colours[2][3] = {{10, 20, 30}, {200, 100, 50}};
  for (int item = 0; item < 4; ++item) {
    const bool fg = item >= 2;
    const int label = static_cast<int>(this->label_.cpu_data()[item]);
    if (fg) {
      EXPECT_TRUE(label == 1 || label == 2) << item;
    } else {
      EXPECT_EQ(label, 0) << item;  // label 3 at overlap 0.3: background
    }
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 64; ++k) {
        ASSERT_NEAR(this->data_.cpu_data()[(item * 3 + c) * 64 + k],
                    (colours[fg][c] - (c + 1)) * 0.5, 1e-5)
            << "item " << item << " channel " << c;
      }
    }
  }
}

TYPED_TEST(WindowDataLayerTest, ContextBeyondTheImageStaysZero) {
  // One window at the top-left corner, grown by context_pad: the part above
  // and left of the image is 0, the rest the image's colour.
  this->WriteWindows("# 0\nb.png\n3 30 40\n1\n1 1 0 0 9 9\n");
  caffe::LayerParameter p = this->Param("");
  p.mutable_window_data_param()->set_context_pad(2);
  p.mutable_window_data_param()->set_fg_fraction(1);
  WindowDataLayer<TypeParam> layer(p);
  this->Run(&layer);
  const TypeParam* item = this->data_.cpu_data();
  EXPECT_EQ(item[0], 0);                    // (0, 0): context outside the image
  EXPECT_NEAR(item[7 * 8 + 7], 100, 1e-5);  // (7, 7): inside, B 200 x 0.5
  int zeros = 0;
  for (int k = 0; k < 64; ++k) zeros += item[k] == 0;
  EXPECT_GT(zeros, 0);
  EXPECT_LT(zeros, 32);
}

TYPED_TEST(WindowDataLayerTest, ResumedRunDrawsTheSameWindows) {
  caffe::LayerParameter p = this->Param("mirror: true");
  WindowDataLayer<TypeParam> straight(p);
  this->Run(&straight);
  straight.Forward({}, this->tops_);
  const std::vector<TypeParam> second(this->label_.cpu_data(), this->label_.cpu_data() + 4);
  WindowDataLayer<TypeParam> resumed(p);
  resumed.SetUp({}, this->tops_);
  resumed.SeekData(1);
  resumed.Forward({}, this->tops_);
  EXPECT_EQ(std::vector<TypeParam>(this->label_.cpu_data(), this->label_.cpu_data() + 4), second);
}

TYPED_TEST(WindowDataLayerTest, BadWindowFilesNameTheLine) {
  auto fails = [&](const std::string& text, std::initializer_list<std::string> pieces) {
    this->WriteWindows(text);
    WindowDataLayer<TypeParam> layer(this->Param(""));
    ExpectErrorWith([&] { layer.SetUp({}, this->tops_); }, pieces);
  };
  fails("# 0\na.png\n3 30 40\n1\n0 0.9 0 0 5 5\n",
        {"windows.txt:5: a foreground window", "has label 0"});
  fails("# 0\na.png\n3 30 40\n1\n1 0.9 0 0 40 5\n", {"windows.txt:5:", "not inside its 40 x 30"});
  fails("# 1\na.png\n3 30 40\n0\n", {"windows.txt:1: image index 1 where 0 comes next"});
  fails("# 0\na.png\n3 30 40\n2\n1 0.9 0 0 5 5\n", {"the file ends where a window's label"});
  fails("# 0\na.png\n3 30 x\n0\n", {"windows.txt:3: the image width is \"x\""});
  fails("# 0\na.png\n3 30 40\n1\n1 0.9 0 0 5 5\n", {"no background window"});
}

}  // namespace deepspark
