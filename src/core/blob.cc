#include "deepspark/blob.hpp"

#include <climits>
#include <cmath>
#include <sstream>

#include "deepspark/gpu_math.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

template <typename Dtype>
void Blob<Dtype>::Reshape(const std::vector<int>& shape) {
  REQUIRE(static_cast<int>(shape.size()) <= kMaxBlobAxes)
      << "blob has " << shape.size() << " axes; at most " << kMaxBlobAxes << " are allowed";
  long long count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    REQUIRE(shape[i] >= 0) << "blob dimension " << i << " is negative (" << shape[i] << ")";
    // Caffe's blobs count in int: a shape past INT_MAX values (8 GiB of
    // floats) is refused before any memory is asked for.
    if (count * shape[i] > INT_MAX) {
      std::ostringstream dims;
      for (int d : shape) dims << d << " ";
      THROW_ERROR() << "a blob of shape " << dims.str() << "would hold more than INT_MAX ("
                    << INT_MAX << ") values";
    }
    count *= shape[i];
  }
  shape_ = shape;
  count_ = static_cast<int>(count);
  if (count_ > capacity_ || !data_) {
    capacity_ = count_;
    data_ = std::make_shared<SyncedMemory>(static_cast<size_t>(capacity_) * sizeof(Dtype));
    diff_ = std::make_shared<SyncedMemory>(static_cast<size_t>(capacity_) * sizeof(Dtype));
  }
}

template <typename Dtype>
void Blob<Dtype>::Reshape(const caffe::BlobShape& shape) {
  REQUIRE(shape.dim_size() <= kMaxBlobAxes) << "blob shape has too many axes";
  std::vector<int> dims(shape.dim_size());
  for (int i = 0; i < shape.dim_size(); ++i) {
    REQUIRE(shape.dim(i) >= 0 && shape.dim(i) <= INT_MAX)
        << "blob dimension " << i << " out of range (" << shape.dim(i) << ")";
    dims[i] = static_cast<int>(shape.dim(i));
  }
  Reshape(dims);
}

template <typename Dtype>
void Blob<Dtype>::Reshape(int num, int channels, int height, int width) {
  Reshape(std::vector<int>{num, channels, height, width});
}

template <typename Dtype>
std::string Blob<Dtype>::shape_string() const {
  std::ostringstream stream;
  for (int d : shape_) stream << d << " ";
  stream << "(" << count_ << ")";
  return stream.str();
}

template <typename Dtype>
int Blob<Dtype>::count(int start_axis, int end_axis) const {
  CHECK_LE(start_axis, end_axis);
  CHECK_GE(start_axis, 0);
  CHECK_GE(end_axis, 0);
  CHECK_LE(start_axis, num_axes());
  CHECK_LE(end_axis, num_axes());
  int c = 1;
  for (int i = start_axis; i < end_axis; ++i) c *= shape_[i];
  return c;
}

template <typename Dtype>
int Blob<Dtype>::CanonicalAxisIndex(int axis_index) const {
  CHECK_GE(axis_index, -num_axes()) << "axis " << axis_index << " out of range for " << num_axes()
                                    << "-D blob " << shape_string();
  CHECK_LT(axis_index, num_axes()) << "axis " << axis_index << " out of range for " << num_axes()
                                   << "-D blob " << shape_string();
  return axis_index < 0 ? axis_index + num_axes() : axis_index;
}

template <typename Dtype>
int Blob<Dtype>::LegacyShape(int index) const {
  CHECK_LE(num_axes(), 4) << "legacy accessors need blobs of at most 4 axes";
  CHECK_LT(index, 4);
  CHECK_GE(index, -4);
  if (index >= num_axes() || index < -num_axes()) return 1;
  return shape(index);
}

template <typename Dtype>
int Blob<Dtype>::offset(int n, int c, int h, int w) const {
  return ((n * channels() + c) * height() + h) * width() + w;
}

template <typename Dtype>
int Blob<Dtype>::offset(const std::vector<int>& indices) const {
  CHECK_LE(static_cast<int>(indices.size()), num_axes());
  int off = 0;
  for (int i = 0; i < num_axes(); ++i) {
    off *= shape_[i];
    if (static_cast<int>(indices.size()) > i) off += indices[i];
  }
  return off;
}

template <typename Dtype>
void Blob<Dtype>::CopyFrom(const Blob& source, bool copy_diff, bool reshape) {
  if (source.count() != count_ || source.shape() != shape_) {
    if (reshape) {
      ReshapeLike(source);
    } else {
      THROW_ERROR() << "trying to copy blobs of different sizes: " << source.shape_string()
                    << " into " << shape_string();
    }
  }
  if (copy_diff) {
    caffe_copy(count_, source.cpu_diff(), mutable_cpu_diff());
  } else {
    caffe_copy(count_, source.cpu_data(), mutable_cpu_data());
  }
}

template <typename Dtype>
const Dtype* Blob<Dtype>::cpu_data() const {
  CHECK(data_);
  return static_cast<const Dtype*>(data_->cpu_data());
}
template <typename Dtype>
const Dtype* Blob<Dtype>::cpu_diff() const {
  CHECK(diff_);
  return static_cast<const Dtype*>(diff_->cpu_data());
}
template <typename Dtype>
Dtype* Blob<Dtype>::mutable_cpu_data() {
  CHECK(data_);
  return static_cast<Dtype*>(data_->mutable_cpu_data());
}
template <typename Dtype>
Dtype* Blob<Dtype>::mutable_cpu_diff() {
  CHECK(diff_);
  return static_cast<Dtype*>(diff_->mutable_cpu_data());
}
template <typename Dtype>
const Dtype* Blob<Dtype>::gpu_data() const {
  CHECK(data_);
  return static_cast<const Dtype*>(data_->gpu_data());
}
template <typename Dtype>
const Dtype* Blob<Dtype>::gpu_diff() const {
  CHECK(diff_);
  return static_cast<const Dtype*>(diff_->gpu_data());
}
template <typename Dtype>
Dtype* Blob<Dtype>::mutable_gpu_data() {
  CHECK(data_);
  return static_cast<Dtype*>(data_->mutable_gpu_data());
}
template <typename Dtype>
Dtype* Blob<Dtype>::mutable_gpu_diff() {
  CHECK(diff_);
  return static_cast<Dtype*>(diff_->mutable_gpu_data());
}
template <typename Dtype>
void Blob<Dtype>::set_cpu_data(Dtype* data) {
  CHECK(data);
  size_t size = static_cast<size_t>(count_) * sizeof(Dtype);
  if (data_->size() != size) {
    data_ = std::make_shared<SyncedMemory>(size);
    diff_ = std::make_shared<SyncedMemory>(size);
  }
  data_->set_cpu_data(data);
}

template <typename Dtype>
void Blob<Dtype>::Update() {
  // Where the data is newest, as Caffe: a GPU-trained net updates on the GPU.
  if (data_ && (data_->head() == SyncedMemory::Head::HEAD_AT_GPU ||
                data_->head() == SyncedMemory::Head::SYNCED)) {
    caffe_gpu_axpy<Dtype>(count_, Dtype(-1), gpu_diff(), mutable_gpu_data());
    return;
  }
  caffe_axpy<Dtype>(count_, Dtype(-1), cpu_diff(), mutable_cpu_data());
}

template <typename Dtype>
Dtype Blob<Dtype>::asum_data() const {
  return count_ ? caffe_cpu_asum(count_, cpu_data()) : Dtype(0);
}
template <typename Dtype>
Dtype Blob<Dtype>::asum_diff() const {
  return count_ ? caffe_cpu_asum(count_, cpu_diff()) : Dtype(0);
}
template <typename Dtype>
Dtype Blob<Dtype>::sumsq_data() const {
  return count_ ? caffe_cpu_dot(count_, cpu_data(), cpu_data()) : Dtype(0);
}
template <typename Dtype>
Dtype Blob<Dtype>::sumsq_diff() const {
  return count_ ? caffe_cpu_dot(count_, cpu_diff(), cpu_diff()) : Dtype(0);
}
template <typename Dtype>
void Blob<Dtype>::scale_data(Dtype scale_factor) {
  if (count_) caffe_scal(count_, scale_factor, mutable_cpu_data());
}
template <typename Dtype>
void Blob<Dtype>::scale_diff(Dtype scale_factor) {
  if (count_) caffe_scal(count_, scale_factor, mutable_cpu_diff());
}

template <typename Dtype>
void Blob<Dtype>::ShareData(const Blob& other) {
  CHECK_EQ(count_, other.count());
  data_ = other.data();
}
template <typename Dtype>
void Blob<Dtype>::ShareDiff(const Blob& other) {
  CHECK_EQ(count_, other.count());
  diff_ = other.diff();
}

std::vector<int> BlobProtoShape(const caffe::BlobProto& proto) {
  std::vector<int> shape;
  if (proto.has_shape()) {
    for (int i = 0; i < proto.shape().dim_size(); ++i) {
      shape.push_back(static_cast<int>(proto.shape().dim(i)));
    }
  } else if (proto.has_num() || proto.has_channels() || proto.has_height() || proto.has_width()) {
    shape = {proto.num(), proto.channels(), proto.height(), proto.width()};
  } else {
    // Neither shape nor legacy dims: a flat vector of its values (as Caffe
    // treats an empty shape with data present).
    int n = proto.double_data_size() > 0 ? proto.double_data_size() : proto.data_size();
    if (n > 0) shape = {n};
  }
  return shape;
}

template <typename Dtype>
bool Blob<Dtype>::ShapeEquals(const caffe::BlobProto& other) const {
  if (other.has_num() || other.has_channels() || other.has_height() || other.has_width()) {
    // Legacy dims match a blob of at most 4 axes, right-aligned, missing
    // leading axes counting as 1.
    return num_axes() <= 4 && LegacyShape(-4) == other.num() &&
           LegacyShape(-3) == other.channels() && LegacyShape(-2) == other.height() &&
           LegacyShape(-1) == other.width();
  }
  std::vector<int> other_shape(other.shape().dim_size());
  for (int i = 0; i < other.shape().dim_size(); ++i)
    other_shape[i] = static_cast<int>(other.shape().dim(i));
  return shape_ == other_shape;
}

template <typename Dtype>
void Blob<Dtype>::FromProto(const caffe::BlobProto& proto, bool reshape) {
  if (reshape) {
    Reshape(BlobProtoShape(proto));
  } else if (!ShapeEquals(proto)) {
    Blob<Dtype> tmp;
    tmp.Reshape(BlobProtoShape(proto));
    THROW_ERROR() << "shape mismatch: the file has " << tmp.shape_string()
                  << " but the net expects " << shape_string();
  }
  Dtype* data = mutable_cpu_data();
  if (proto.double_data_size() > 0) {
    REQUIRE(proto.double_data_size() == count_)
        << "blob holds " << proto.double_data_size() << " values but its shape " << shape_string()
        << " needs " << count_;
    for (int i = 0; i < count_; ++i) data[i] = static_cast<Dtype>(proto.double_data(i));
  } else {
    REQUIRE(proto.data_size() == count_)
        << "blob holds " << proto.data_size() << " values but its shape " << shape_string()
        << " needs " << count_;
    for (int i = 0; i < count_; ++i) data[i] = static_cast<Dtype>(proto.data(i));
  }
  if (proto.double_diff_size() > 0) {
    REQUIRE(proto.double_diff_size() == count_) << "blob diff size mismatch";
    Dtype* diff = mutable_cpu_diff();
    for (int i = 0; i < count_; ++i) diff[i] = static_cast<Dtype>(proto.double_diff(i));
  } else if (proto.diff_size() > 0) {
    REQUIRE(proto.diff_size() == count_) << "blob diff size mismatch";
    Dtype* diff = mutable_cpu_diff();
    for (int i = 0; i < count_; ++i) diff[i] = static_cast<Dtype>(proto.diff(i));
  }
}

template <>
void Blob<float>::ToProto(caffe::BlobProto* proto, bool write_diff) const {
  proto->clear_shape();
  for (int d : shape_) proto->mutable_shape()->add_dim(d);
  proto->clear_data();
  proto->clear_diff();
  proto->mutable_data()->Resize(count_, 0.f);
  if (count_) std::copy(cpu_data(), cpu_data() + count_, proto->mutable_data()->mutable_data());
  if (write_diff) {
    proto->mutable_diff()->Resize(count_, 0.f);
    if (count_) std::copy(cpu_diff(), cpu_diff() + count_, proto->mutable_diff()->mutable_data());
  }
}

template <>
void Blob<double>::ToProto(caffe::BlobProto* proto, bool write_diff) const {
  proto->clear_shape();
  for (int d : shape_) proto->mutable_shape()->add_dim(d);
  proto->clear_double_data();
  proto->clear_double_diff();
  proto->mutable_double_data()->Resize(count_, 0.0);
  if (count_)
    std::copy(cpu_data(), cpu_data() + count_, proto->mutable_double_data()->mutable_data());
  if (write_diff) {
    proto->mutable_double_diff()->Resize(count_, 0.0);
    if (count_)
      std::copy(cpu_diff(), cpu_diff() + count_, proto->mutable_double_diff()->mutable_data());
  }
}

INSTANTIATE_CLASS(Blob);

}  // namespace deepspark
