#include "deepspark/layers/image_data_layer.hpp"

#include <fstream>
#include <random>

#include "deepspark/db.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace {

// The deprecated image_data_param transform fields, used when
// transform_param is absent.
caffe::TransformationParameter TransformParamOf(const caffe::LayerParameter& param) {
  caffe::TransformationParameter t = param.transform_param();
  const caffe::ImageDataParameter& d = param.image_data_param();
  if (!param.has_transform_param()) {
    if (d.has_scale()) t.set_scale(d.scale());
    if (d.has_mean_file()) t.set_mean_file(d.mean_file());
    if (d.has_crop_size()) t.set_crop_size(d.crop_size());
    if (d.has_mirror()) t.set_mirror(d.mirror());
  }
  return t;
}

}  // namespace

template <typename Dtype>
void ImageDataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  param_ = this->layer_param_.image_data_param();
  REQUIRE(param_.batch_size() > 0) << "image_data_param.batch_size must be positive";
  REQUIRE((param_.new_height() > 0) == (param_.new_width() > 0))
      << "image_data_param: new_height and new_width must be set together";
  transformer_ =
      std::make_unique<DataTransformer<Dtype>>(TransformParamOf(this->layer_param_), this->phase_);
  std::ifstream list(param_.source());
  REQUIRE(list.good()) << "cannot open image list " << param_.source();
  std::string line;
  int line_number = 0;
  lines_.clear();
  while (std::getline(list, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t space = line.find_last_of(' ');
    REQUIRE(space != std::string::npos && space > 0)
        << param_.source() << ":" << line_number << ": expected \"path label\"";
    int label = 0;
    try {
      size_t used = 0;
      label = std::stoi(line.substr(space + 1), &used);
      REQUIRE(used == line.size() - space - 1) << "trailing characters";
    } catch (const std::exception&) {
      THROW_ERROR() << param_.source() << ":" << line_number << ": bad label in \"" << line << "\"";
    }
    lines_.emplace_back(line.substr(0, space), label);
  }
  REQUIRE(!lines_.empty()) << "image list " << param_.source() << " is empty";
  if (RandomSeed() >= 0) {
    shuffle_seed_ = static_cast<uint64_t>(RandomSeed());
  } else {
    std::random_device device;
    shuffle_seed_ = (uint64_t(device()) << 32) | device();
  }
  perm_epoch_ = -1;
  LOG(INFO) << "ImageData layer " << this->layer_param_.name() << ": " << lines_.size()
            << " images from " << param_.source();

  caffe::Datum datum;
  ReadItem(param_.rand_skip(), &datum);
  std::vector<int> shape = transformer_->InferItemShape(datum);
  const int batch_size = param_.batch_size();
  shape.insert(shape.begin(), batch_size);
  top[0]->Reshape(shape);
  top[1]->Reshape(std::vector<int>{batch_size});
}

template <typename Dtype>
const std::pair<std::string, int>& ImageDataLayer<Dtype>::LineAt(uint64_t position) {
  const uint64_t size = lines_.size();
  if (!param_.shuffle()) return lines_[position % size];
  const int64_t epoch = static_cast<int64_t>(position / size);
  if (epoch != perm_epoch_) {
    perm_ = SeededPermutation(size, MixSeed(shuffle_seed_, epoch));
    perm_epoch_ = epoch;
  }
  return lines_[perm_[position % size]];
}

template <typename Dtype>
void ImageDataLayer<Dtype>::ReadItem(uint64_t position, caffe::Datum* datum) {
  const auto& item = LineAt(position);
  ReadImageToDatum(param_.root_folder() + item.first, item.second, param_.new_height(),
                   param_.new_width(), param_.is_color(), datum);
}

template <typename Dtype>
void ImageDataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const int batch_size = param_.batch_size();
  const uint64_t b = next_batch_;
  const uint64_t start = param_.rand_skip() + b * batch_size;
  uint64_t seed = RandomSeed() >= 0 ? MixSeed(RandomSeed(), b) : std::random_device()();
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  RngEngine engine(seq);
  caffe::Datum datum;
  std::vector<int> item_shape;
  for (int i = 0; i < batch_size; ++i) {
    ReadItem(start + i, &datum);
    std::vector<int> shape = transformer_->InferItemShape(datum);
    if (i == 0) {
      item_shape = shape;
      shape.insert(shape.begin(), batch_size);
      top[0]->Reshape(shape);
    } else {
      REQUIRE(shape == item_shape)
          << "image " << LineAt(start + i).first
          << " has another size than the first image of its batch; set new_height/new_width";
    }
    transformer_->Transform(datum, top[0], i, &engine);
    top[1]->mutable_cpu_data()[i] = static_cast<Dtype>(datum.label());
  }
  ++next_batch_;
}

INSTANTIATE_CLASS(ImageDataLayer);
REGISTER_LAYER_CLASS(ImageData);

}  // namespace deepspark
