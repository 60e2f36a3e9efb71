#include "deepspark/layers/window_data_layer.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>

#include "deepspark/data_transformer.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace {

// The window file's whitespace-separated tokens, each with its line.
class Tokens {
 public:
  explicit Tokens(const std::string& path) : path_(path) {
    std::ifstream in(path);
    REQUIRE(in.good()) << "WindowData: cannot open window file " << path;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      std::istringstream words(line);
      std::string word;
      while (words >> word) tokens_.push_back({word, number});
    }
  }
  bool done() const { return next_ == tokens_.size(); }
  int line() const { return next_ < tokens_.size() ? tokens_[next_].second : LastLine(); }
  std::string Word(const char* what) {
    REQUIRE(!done()) << path_ << ":" << LastLine() << ": the file ends where " << what
                     << " should be";
    return tokens_[next_++].first;
  }
  template <typename T>
  T Number(const char* what) {
    const int at = line();
    const std::string word = Word(what);
    std::istringstream in(word);
    T value;
    REQUIRE((in >> value) && in.peek() == std::istringstream::traits_type::eof())
        << path_ << ":" << at << ": " << what << " is \"" << word << "\", not a number";
    return value;
  }
  const std::string& path() const { return path_; }

 private:
  int LastLine() const { return tokens_.empty() ? 1 : tokens_.back().second; }
  std::string path_;
  std::vector<std::pair<std::string, int>> tokens_;
  size_t next_ = 0;
};

}  // namespace

template <typename Dtype>
void WindowDataLayer<Dtype>::ReadWindowFile(const std::string& path) {
  const auto& p = this->layer_param_.window_data_param();
  Tokens in(path);
  REQUIRE(!in.done()) << "WindowData: window file " << path << " is empty";
  std::map<int, int> per_label;
  while (!in.done()) {
    const int at = in.line();
    REQUIRE(in.Word("\"#\"") == "#") << path << ":" << at << ": expected \"# IMAGE_INDEX\"";
    const int index = in.Number<int>("the image index");
    REQUIRE(index == static_cast<int>(images_.size()))
        << path << ":" << at << ": image index " << index << " where " << images_.size()
        << " comes next (Caffe looks images up by these indexes: 0, 1, ... in order)";
    Image image;
    image.path = p.root_folder() + in.Word("the image path");
    const int channels_at = in.line();
    const int channels = in.Number<int>("the channel count");
    REQUIRE(channels == 3) << path << ":" << channels_at << ": " << channels
                           << " channels; WindowData reads images in colour (3 channels)";
    image.height = in.Number<int>("the image height");
    image.width = in.Number<int>("the image width");
    const int windows = in.Number<int>("the window count");
    REQUIRE(windows >= 0) << path << ": image " << index << " has a negative window count";
    for (int i = 0; i < windows; ++i) {
      const int line = in.line();
      Window w;
      w.image = index;
      w.label = in.Number<int>("a window's label");
      w.overlap = in.Number<float>("a window's overlap");
      w.x1 = in.Number<int>("x1");
      w.y1 = in.Number<int>("y1");
      w.x2 = in.Number<int>("x2");
      w.y2 = in.Number<int>("y2");
      REQUIRE(0 <= w.x1 && w.x1 <= w.x2 && w.x2 < image.width && 0 <= w.y1 && w.y1 <= w.y2 &&
              w.y2 < image.height)
          << path << ":" << line << ": window (" << w.x1 << ", " << w.y1 << ") - (" << w.x2 << ", "
          << w.y2 << ") is not inside its " << image.width << " x " << image.height << " image";
      if (w.overlap >= p.fg_threshold()) {
        REQUIRE(w.label > 0) << path << ":" << line << ": a foreground window (overlap "
                             << w.overlap << ") has label " << w.label << "; 0 is background";
        fg_.push_back(w);
        ++per_label[w.label];
      } else if (w.overlap < p.bg_threshold()) {
        w.label = 0;
        w.overlap = 0;
        bg_.push_back(w);
        ++per_label[0];
      }
    }
    images_.push_back(image);
  }
  LOG(INFO) << "WindowData: " << images_.size() << " images, " << fg_.size() << " foreground and "
            << bg_.size() << " background windows";
  for (const auto& entry : per_label) {
    LOG(INFO) << "class " << entry.first << " has " << entry.second << " samples";
  }
}

template <typename Dtype>
void WindowDataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const auto& p = this->layer_param_.window_data_param();
  const auto& t = this->layer_param_.transform_param();
  const std::string name = this->layer_param_.name();
  REQUIRE(p.batch_size() > 0) << "WindowData '" << name << "': batch_size must be positive";
  crop_size_ = static_cast<int>(t.crop_size());
  REQUIRE(crop_size_ > 0) << "WindowData '" << name << "': transform_param.crop_size must be set";
  REQUIRE(static_cast<int>(2 * p.context_pad()) < crop_size_)
      << "WindowData '" << name << "': context_pad " << p.context_pad() << " leaves nothing of a "
      << crop_size_ << "-pixel crop";
  REQUIRE(p.crop_mode() == "warp" || p.crop_mode() == "square")
      << "WindowData '" << name << "': crop_mode is \"" << p.crop_mode()
      << "\"; Caffe knows \"warp\" and \"square\"";
  ReadWindowFile(p.source());
  const int batch = static_cast<int>(p.batch_size());
  const int num_fg = static_cast<int>(static_cast<float>(batch) * p.fg_fraction());
  REQUIRE(num_fg == 0 || !fg_.empty())
      << "WindowData '" << name << "': " << p.source()
      << " has no foreground window (overlap >= " << p.fg_threshold() << ") for the " << num_fg
      << " a batch takes";
  REQUIRE(num_fg == batch || !bg_.empty())
      << "WindowData '" << name << "': " << p.source() << " has no background window (overlap < "
      << p.bg_threshold() << ") for the " << batch - num_fg << " a batch takes";
  REQUIRE(!(t.has_mean_file() && t.mean_value_size() > 0))
      << "WindowData '" << name << "': give mean_file or mean_value, not both";
  if (t.has_mean_file()) {
    caffe::BlobProto proto;
    ReadBlobProtoFile(t.mean_file(), &proto);
    mean_.FromProto(proto, true);
    REQUIRE(mean_.num_axes() == 4 && mean_.shape(1) == 3 && mean_.shape(2) >= crop_size_ &&
            mean_.shape(3) >= crop_size_)
        << "WindowData '" << name << "': mean file " << t.mean_file() << " has shape "
        << mean_.shape_string() << "; 3 channels of at least " << crop_size_ << " x " << crop_size_
        << " are needed";
  }
  for (float v : t.mean_value()) mean_values_.push_back(static_cast<Dtype>(v));
  REQUIRE(mean_values_.size() <= 1 || mean_values_.size() == 3)
      << "WindowData '" << name << "': give 1 or 3 mean_value, not " << mean_values_.size();
  if (mean_values_.size() == 1) mean_values_.assign(3, mean_values_[0]);
  if (p.cache_images()) cache_.resize(images_.size());
  top[0]->Reshape(std::vector<int>{batch, 3, crop_size_, crop_size_});
  top[1]->Reshape(std::vector<int>{batch});
}

template <typename Dtype>
cv::Mat WindowDataLayer<Dtype>::LoadImage(int index) {
  if (!cache_.empty() && !cache_[index].empty()) return cache_[index];
  caffe::Datum datum;
  ReadImageToDatum(images_[index].path, 0, 0, 0, true, &datum);
  const int h = datum.height(), w = datum.width();
  cv::Mat image(h, w, CV_8UC3);
  const auto* pixels = reinterpret_cast<const uint8_t*>(datum.data().data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) image.at<cv::Vec3b>(y, x)[c] = pixels[(c * h + y) * w + x];
  REQUIRE(h == images_[index].height && w == images_[index].width)
      << "WindowData: " << images_[index].path << " is " << w << " x " << h
      << " but the window file says " << images_[index].width << " x " << images_[index].height;
  if (!cache_.empty()) cache_[index] = image;
  return image;
}

template <typename Dtype>
void WindowDataLayer<Dtype>::WarpWindow(const Window& window, bool mirror, Dtype* item) {
  const auto& p = this->layer_param_.window_data_param();
  const cv::Mat image = LoadImage(window.image);
  const int crop = crop_size_, context_pad = static_cast<int>(p.context_pad());
  int x1 = window.x1, y1 = window.y1, x2 = window.x2, y2 = window.y2;
  cv::Size warped(crop, crop);
  int pad_w = 0, pad_h = 0;
  if (context_pad > 0 || p.crop_mode() == "square") {
    // Grow the box so that, warped to crop x crop, context_pad pixels of
    // context surround it; the part outside the image stays 0 (Caffe's
    // arithmetic, rounding included).
    const Dtype context_scale =
        static_cast<Dtype>(crop) / static_cast<Dtype>(crop - 2 * context_pad);
    Dtype half_height = static_cast<Dtype>(y2 - y1 + 1) / 2,
          half_width = static_cast<Dtype>(x2 - x1 + 1) / 2;
    const Dtype center_x = x1 + half_width, center_y = y1 + half_height;
    if (p.crop_mode() == "square") half_width = half_height = std::max(half_width, half_height);
    x1 = static_cast<int>(std::round(center_x - half_width * context_scale));
    x2 = static_cast<int>(std::round(center_x + half_width * context_scale));
    y1 = static_cast<int>(std::round(center_y - half_height * context_scale));
    y2 = static_cast<int>(std::round(center_y + half_height * context_scale));
    const int unclipped_height = y2 - y1 + 1, unclipped_width = x2 - x1 + 1;
    int pad_x1 = std::max(0, -x1), pad_y1 = std::max(0, -y1);
    int pad_x2 = std::max(0, x2 - image.cols + 1), pad_y2 = std::max(0, y2 - image.rows + 1);
    x1 += pad_x1;
    x2 -= pad_x2;
    y1 += pad_y1;
    y2 -= pad_y2;
    const Dtype scale_x = static_cast<Dtype>(crop) / unclipped_width;
    const Dtype scale_y = static_cast<Dtype>(crop) / unclipped_height;
    warped.width = static_cast<int>(std::round((x2 - x1 + 1) * scale_x));
    warped.height = static_cast<int>(std::round((y2 - y1 + 1) * scale_y));
    pad_x1 = static_cast<int>(std::round(pad_x1 * scale_x));
    pad_x2 = static_cast<int>(std::round(pad_x2 * scale_x));
    pad_y1 = static_cast<int>(std::round(pad_y1 * scale_y));
    pad_h = pad_y1;
    pad_w = mirror ? pad_x2 : pad_x1;  // the padding mirrors with the image
    warped.height = std::max(1, std::min(warped.height, crop - pad_h));
    warped.width = std::max(1, std::min(warped.width, crop - pad_w));
  }
  cv::Mat cut;
  cv::resize(image(cv::Rect(x1, y1, x2 - x1 + 1, y2 - y1 + 1)), cut, warped, 0, 0,
             cv::INTER_LINEAR);
  if (mirror) cv::flip(cut, cut, 1);
  const Dtype scale = p.scale();
  const bool mean_file = mean_.count() > 0;
  const int mean_h = mean_file ? mean_.shape(2) : 0, mean_w = mean_file ? mean_.shape(3) : 0;
  const int mean_off = (mean_w - crop) / 2;
  const Dtype* mean = mean_file ? mean_.cpu_data() : nullptr;
  for (int c = 0; c < 3; ++c) {
    for (int h = 0; h < cut.rows; ++h) {
      for (int w = 0; w < cut.cols; ++w) {
        const Dtype pixel = static_cast<Dtype>(cut.at<cv::Vec3b>(h, w)[c]);
        Dtype centred = pixel;
        if (mean_file) {
          centred -= mean[(c * mean_h + h + mean_off + pad_h) * mean_w + w + mean_off + pad_w];
        } else if (!mean_values_.empty()) {
          centred -= mean_values_[c];
        }
        item[(c * crop + h + pad_h) * crop + w + pad_w] = centred * scale;
      }
    }
  }
}

template <typename Dtype>
void WindowDataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                         const std::vector<Blob<Dtype>*>& top) {
  const auto& p = this->layer_param_.window_data_param();
  const int batch = static_cast<int>(p.batch_size());
  const int num_fg = static_cast<int>(static_cast<float>(batch) * p.fg_fraction());
  const uint64_t b = next_batch_++;
  const uint64_t seed = RandomSeed() >= 0 ? MixSeed(RandomSeed(), b) : std::random_device()();
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  RngEngine engine(seq);
  Dtype* data = top[0]->mutable_cpu_data();
  std::fill(data, data + top[0]->count(), Dtype(0));
  const int item_size = 3 * crop_size_ * crop_size_;
  const bool mirror = this->layer_param_.transform_param().mirror();
  // Background windows first, then foreground, as Caffe fills a batch.
  for (int item = 0; item < batch; ++item) {
    const std::vector<Window>& pool = item < batch - num_fg ? bg_ : fg_;
    const Window& window = pool[engine() % pool.size()];
    const bool flip = mirror && engine() % 2;
    WarpWindow(window, flip, data + item * item_size);
    top[1]->mutable_cpu_data()[item] = static_cast<Dtype>(window.label);
  }
}

INSTANTIATE_CLASS(WindowDataLayer);
REGISTER_LAYER_CLASS(WindowData);

}  // namespace deepspark
