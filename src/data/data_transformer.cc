#include "deepspark/data_transformer.hpp"

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deepspark/common.hpp"
#include "image_header.hpp"

namespace deepspark {

namespace {

// The number of values a raw (decoded) Datum's shape asks for, once the
// Datum is seen to hold exactly that many: a record's shape fields alone
// must not size a blob (a 511x1220x1279 header with no data would ask for
// 3 GB; found by tests/fuzz/fuzz_datum.cc).
size_t CheckedRawDatumSize(const caffe::Datum& datum) {
  const int channels = datum.channels(), height = datum.height(), width = datum.width();
  REQUIRE(channels > 0 && height > 0 && width > 0)
      << "Datum has bad shape " << channels << "x" << height << "x" << width;
  // Below 2^93, so no overflow in 128 bits.
  const unsigned __int128 wanted = static_cast<unsigned __int128>(channels) *
                                   static_cast<unsigned>(height) * static_cast<unsigned>(width);
  const std::string& data = datum.data();
  const bool use_bytes = !data.empty();
  const size_t held = use_bytes ? data.size() : static_cast<size_t>(datum.float_data_size());
  REQUIRE(wanted == held) << "Datum holds " << held << " values but its shape " << channels << "x"
                          << height << "x" << width << " needs " << static_cast<double>(wanted);
  return held;
}

// Interleaved HWC (OpenCV) to planar CHW bytes.
void MatToDatum(const cv::Mat& image, int label, caffe::Datum* datum) {
  const int channels = image.channels(), height = image.rows, width = image.cols;
  std::string planar(static_cast<size_t>(channels) * height * width, '\0');
  for (int h = 0; h < height; ++h) {
    const uchar* row = image.ptr<uchar>(h);
    for (int w = 0; w < width; ++w) {
      for (int c = 0; c < channels; ++c) {
        planar[(static_cast<size_t>(c) * height + h) * width + w] =
            static_cast<char>(row[w * channels + c]);
      }
    }
  }
  datum->Clear();
  datum->set_channels(channels);
  datum->set_height(height);
  datum->set_width(width);
  datum->set_label(label);
  datum->set_data(std::move(planar));
  datum->set_encoded(false);
}

}  // namespace

void ReadImageToDatum(const std::string& filename, int label, int height, int width, bool is_color,
                      caffe::Datum* datum) {
  cv::Mat image = cv::imread(filename, is_color ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  REQUIRE(!image.empty()) << "cannot read image " << filename;
  if (height > 0 && width > 0) {
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(width, height));
    image = resized;
  }
  REQUIRE(image.depth() == CV_8U) << "image " << filename << " is not 8-bit";
  MatToDatum(image, label, datum);
}

bool DecodeDatumInPlace(caffe::Datum* datum, bool force_color, bool force_gray) {
  if (!datum->encoded()) return false;
  REQUIRE(!(force_color && force_gray)) << "force_color and force_gray are mutually exclusive";
  const std::string& bytes = datum->data();
  std::vector<uchar> buffer(bytes.begin(), bytes.end());
  int flags = force_color  ? cv::IMREAD_COLOR
              : force_gray ? cv::IMREAD_GRAYSCALE
                           : cv::IMREAD_ANYCOLOR;
  // The size the header claims is checked before OpenCV allocates for it
  // (image_header.hpp); an empty buffer fails there too. OpenCV throws
  // (cv::Exception) on some damaged input (found by tests/fuzz/fuzz_datum.cc):
  // the same Error as an image it cannot decode.
  CheckEncodedImageHeader(bytes.data(), bytes.size());
  cv::Mat image;
  try {
    image = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    THROW_ERROR() << "could not decode an encoded Datum (" << bytes.size()
                  << " bytes): " << e.what();
  }
  REQUIRE(!image.empty()) << "could not decode an encoded Datum (" << bytes.size() << " bytes)";
  REQUIRE(image.depth() == CV_8U) << "encoded Datum decodes to a non-8-bit image";
  const int label = datum->label();
  MatToDatum(image, label, datum);
  return true;
}

void ReadBlobProtoFile(const std::string& filename, caffe::BlobProto* proto) {
  std::ifstream in(filename, std::ios::binary);
  REQUIRE(in.good()) << "cannot open mean file " << filename;
  REQUIRE(proto->ParseFromIstream(&in)) << "mean file " << filename << " is not a valid BlobProto";
}

template <typename Dtype>
DataTransformer<Dtype>::DataTransformer(const caffe::TransformationParameter& param,
                                        caffe::Phase phase)
    : param_(param), phase_(phase) {
  REQUIRE(!(param.has_mean_file() && param.mean_value_size() > 0))
      << "transform_param: specify either mean_file or mean_value, not both";
  REQUIRE(!(param.force_color() && param.force_gray()))
      << "transform_param: force_color and force_gray are mutually exclusive";
  if (param.has_mean_file()) {
    ReadBlobProtoFile(param.mean_file(), &mean_);
    has_mean_file_ = true;
  }
  for (float v : param.mean_value()) mean_values_.push_back(static_cast<Dtype>(v));
}

template <typename Dtype>
DataTransformer<Dtype>::DataTransformer(const caffe::TransformationParameter& param,
                                        caffe::Phase phase, const caffe::BlobProto& mean)
    : param_(param), phase_(phase), mean_(mean), has_mean_file_(true) {
  REQUIRE(param.mean_value_size() == 0)
      << "transform_param: specify either mean_file or mean_value, not both";
  REQUIRE(!(param.force_color() && param.force_gray()))
      << "transform_param: force_color and force_gray are mutually exclusive";
}

template <typename Dtype>
std::vector<int> DataTransformer<Dtype>::InferItemShape(const caffe::Datum& datum) const {
  int channels = datum.channels(), height = datum.height(), width = datum.width();
  if (datum.encoded()) {
    caffe::Datum decoded = datum;
    DecodeDatumInPlace(&decoded, param_.force_color(), param_.force_gray());
    channels = decoded.channels();
    height = decoded.height();
    width = decoded.width();
  } else {
    CheckedRawDatumSize(datum);
  }
  const int crop = param_.crop_size();
  REQUIRE(channels > 0 && height > 0 && width > 0)
      << "Datum has bad shape " << channels << "x" << height << "x" << width;
  if (crop > 0) {
    REQUIRE(height >= crop && width >= crop)
        << "crop_size " << crop << " is larger than the image " << height << "x" << width;
    height = width = crop;
  }
  return {channels, height, width};
}

template <typename Dtype>
void DataTransformer<Dtype>::Transform(const caffe::Datum& datum, Dtype* out,
                                       RngEngine* rng) const {
  if (datum.encoded()) {
    caffe::Datum decoded = datum;
    DecodeDatumInPlace(&decoded, param_.force_color(), param_.force_gray());
    TransformRaw(decoded, out, rng);
  } else {
    TransformRaw(datum, out, rng);
  }
}

template <typename Dtype>
void DataTransformer<Dtype>::Transform(const caffe::Datum& datum, Blob<Dtype>* blob, int item,
                                       RngEngine* rng) const {
  CHECK_LT(item, blob->shape(0));
  Transform(datum, blob->mutable_cpu_data() + blob->offset(item), rng);
}

template <typename Dtype>
void DataTransformer<Dtype>::TransformRaw(const caffe::Datum& datum, Dtype* out,
                                          RngEngine* rng) const {
  const size_t size = CheckedRawDatumSize(datum);
  const int channels = datum.channels(), height = datum.height(), width = datum.width();
  const std::string& data = datum.data();
  const bool use_bytes = !data.empty();
  const int crop = param_.crop_size();
  const Dtype scale = param_.scale();
  // Caffe's order of draws: mirror first, then the crop offsets.
  const bool do_mirror = param_.mirror() && ((*CHECK_NOTNULL(rng))() % 2);
  int h_off = 0, w_off = 0, out_h = height, out_w = width;
  if (crop > 0) {
    REQUIRE(height >= crop && width >= crop)
        << "crop_size " << crop << " is larger than the image " << height << "x" << width;
    out_h = out_w = crop;
    if (phase_ == caffe::TRAIN) {
      h_off = (*CHECK_NOTNULL(rng))() % (height - crop + 1);
      w_off = (*rng)() % (width - crop + 1);
    } else {
      h_off = (height - crop) / 2;
      w_off = (width - crop) / 2;
    }
  }
  const float* mean = nullptr;
  if (has_mean_file_) {
    REQUIRE(mean_.channels() == channels && mean_.height() == height && mean_.width() == width &&
            static_cast<size_t>(mean_.data_size()) == size)
        << "mean file " << param_.mean_file() << " has shape " << mean_.channels() << "x"
        << mean_.height() << "x" << mean_.width() << " but the Datum is " << channels << "x"
        << height << "x" << width;
    mean = mean_.data().data();
  }
  if (!mean_values_.empty()) {
    REQUIRE(mean_values_.size() == 1 || static_cast<int>(mean_values_.size()) == channels)
        << "transform_param: " << mean_values_.size()
        << " mean_values given; need 1 or one per channel (" << channels << ")";
  }
  for (int c = 0; c < channels; ++c) {
    const Dtype mean_value =
        mean_values_.empty() ? Dtype(0) : mean_values_[mean_values_.size() == 1 ? 0 : c];
    for (int h = 0; h < out_h; ++h) {
      for (int w = 0; w < out_w; ++w) {
        const size_t in_index = (static_cast<size_t>(c) * height + h_off + h) * width + w_off + w;
        const int out_w_index = do_mirror ? out_w - 1 - w : w;
        const size_t out_index = (static_cast<size_t>(c) * out_h + h) * out_w + out_w_index;
        Dtype value = use_bytes ? static_cast<Dtype>(static_cast<uint8_t>(data[in_index]))
                                : static_cast<Dtype>(datum.float_data(in_index));
        if (mean) {
          value -= mean[in_index];
        } else {
          value -= mean_value;
        }
        out[out_index] = value * scale;
      }
    }
  }
}

INSTANTIATE_CLASS(DataTransformer);

}  // namespace deepspark
