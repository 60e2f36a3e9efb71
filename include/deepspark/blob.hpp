// Blob: an N-d array of Dtype with two buffers of the same shape, data and
// diff (the gradient), as in Caffe. Shapes are row-major, axis 0 outermost
// (for images: N x C x H x W). Memory sits behind SyncedMemory, which keeps
// the host and the GPU copy in step.
//
// Thread safety: none; a Blob is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/syncedmem.hpp"

namespace caffe {
class BlobProto;
class BlobShape;
}  // namespace caffe

namespace deepspark {

constexpr int kMaxBlobAxes = 32;

template <typename Dtype>
class Blob {
 public:
  Blob() = default;
  explicit Blob(const std::vector<int>& shape) { Reshape(shape); }
  // Legacy 4-d constructor.
  Blob(int num, int channels, int height, int width) { Reshape(num, channels, height, width); }

  // Changes the shape; reallocates only when the count grows. Throws
  // deepspark::Error on a negative dimension or an overflowing count.
  void Reshape(const std::vector<int>& shape);
  void Reshape(const caffe::BlobShape& shape);
  void Reshape(int num, int channels, int height, int width);
  void ReshapeLike(const Blob& other) { Reshape(other.shape()); }

  // "2 3 4 5 (120)".
  std::string shape_string() const;
  const std::vector<int>& shape() const { return shape_; }
  // Dimension at a (possibly negative) axis index.
  int shape(int index) const { return shape_[CanonicalAxisIndex(index)]; }
  int num_axes() const { return static_cast<int>(shape_.size()); }
  int count() const { return count_; }
  // Product of dimensions [start_axis, end_axis).
  int count(int start_axis, int end_axis) const;
  int count(int start_axis) const { return count(start_axis, num_axes()); }
  // Maps axis in [-num_axes, num_axes) to [0, num_axes); CHECK-fails outside.
  int CanonicalAxisIndex(int axis_index) const;

  // Legacy accessors: dimension of a 4-d view, 1 where the axis is absent.
  int num() const { return LegacyShape(0); }
  int channels() const { return LegacyShape(1); }
  int height() const { return LegacyShape(2); }
  int width() const { return LegacyShape(3); }
  int LegacyShape(int index) const;

  int offset(int n, int c = 0, int h = 0, int w = 0) const;
  int offset(const std::vector<int>& indices) const;

  // Copies data (or diff) from source; reshape=false requires equal counts.
  void CopyFrom(const Blob& source, bool copy_diff = false, bool reshape = false);

  Dtype data_at(int n, int c, int h, int w) const { return cpu_data()[offset(n, c, h, w)]; }
  Dtype diff_at(int n, int c, int h, int w) const { return cpu_diff()[offset(n, c, h, w)]; }
  Dtype data_at(const std::vector<int>& index) const { return cpu_data()[offset(index)]; }
  Dtype diff_at(const std::vector<int>& index) const { return cpu_diff()[offset(index)]; }

  const std::shared_ptr<SyncedMemory>& data() const { return data_; }
  const std::shared_ptr<SyncedMemory>& diff() const { return diff_; }

  const Dtype* cpu_data() const;
  const Dtype* cpu_diff() const;
  Dtype* mutable_cpu_data();
  Dtype* mutable_cpu_diff();
  // Points data at external memory (not owned; must outlive the blob's use).
  void set_cpu_data(Dtype* data);
  // The device copies (SyncedMemory copies whichever side is stale); throw
  // deepspark::Error without a GPU.
  const Dtype* gpu_data() const;
  const Dtype* gpu_diff() const;
  Dtype* mutable_gpu_data();
  Dtype* mutable_gpu_diff();

  // data -= diff (the parameter update step).
  void Update();

  // Loads shape and values from a BlobProto. With reshape=false the shapes
  // must match (legacy num/channels/height/width accepted as in Caffe);
  // a mismatch throws deepspark::Error.
  void FromProto(const caffe::BlobProto& proto, bool reshape = true);
  // Writes shape and data (and diff if write_diff) in Caffe's V2 layout.
  void ToProto(caffe::BlobProto* proto, bool write_diff = false) const;
  // Caffe's ShapeEquals: V2 shape, or legacy dims right-aligned.
  bool ShapeEquals(const caffe::BlobProto& other) const;

  Dtype asum_data() const;
  Dtype asum_diff() const;
  Dtype sumsq_data() const;
  Dtype sumsq_diff() const;
  void scale_data(Dtype scale_factor);
  void scale_diff(Dtype scale_factor);

  // Makes this blob use other's data (or diff) memory; counts must match.
  void ShareData(const Blob& other);
  void ShareDiff(const Blob& other);

 private:
  std::shared_ptr<SyncedMemory> data_;
  std::shared_ptr<SyncedMemory> diff_;
  std::vector<int> shape_;
  int count_ = 0;
  int capacity_ = 0;

  DISABLE_COPY_AND_ASSIGN(Blob);
};

// Shape from a BlobProto: V2 `shape` if present, else legacy 4-d dims.
std::vector<int> BlobProtoShape(const caffe::BlobProto& proto);

}  // namespace deepspark
