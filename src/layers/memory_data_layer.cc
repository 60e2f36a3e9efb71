#include "deepspark/layers/memory_data_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void MemoryDataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  const caffe::MemoryDataParameter& param = this->layer_param_.memory_data_param();
  batch_size_ = param.batch_size();
  channels_ = param.channels();
  height_ = param.height();
  width_ = param.width();
  size_ = channels_ * height_ * width_;
  REQUIRE(batch_size_ > 0 && size_ > 0)
      << "memory_data_param: batch_size, channels, height and width must be positive";
  top[0]->Reshape(batch_size_, channels_, height_, width_);
  top[1]->Reshape(std::vector<int>{batch_size_});
}

template <typename Dtype>
void MemoryDataLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  top[0]->Reshape(batch_size_, channels_, height_, width_);
  top[1]->Reshape(std::vector<int>{batch_size_});
}

template <typename Dtype>
void MemoryDataLayer<Dtype>::Reset(Dtype* data, Dtype* labels, int n) {
  REQUIRE(data != nullptr && labels != nullptr) << "MemoryData: Reset needs data and labels";
  REQUIRE(n > 0 && n % batch_size_ == 0)
      << "MemoryData: " << n << " items is not a positive multiple of batch_size " << batch_size_;
  data_ = data;
  labels_ = labels;
  n_ = n;
  pos_ = 0;
}

template <typename Dtype>
void MemoryDataLayer<Dtype>::AddDatumVector(const std::vector<caffe::Datum>& datums) {
  const int n = datums.size();
  REQUIRE(n > 0 && n % batch_size_ == 0)
      << "MemoryData: " << n << " datums is not a positive multiple of batch_size " << batch_size_;
  if (!transformer_) {
    transformer_ = std::make_unique<DataTransformer<Dtype>>(this->layer_param_.transform_param(),
                                                            this->phase_);
  }
  std::vector<Dtype> data(static_cast<size_t>(n) * size_), labels(n);
  RngEngine& rng = ThreadRng();
  for (int i = 0; i < n; ++i) {
    std::vector<int> shape = transformer_->InferItemShape(datums[i]);
    REQUIRE(shape == std::vector<int>({channels_, height_, width_}))
        << "MemoryData: datum " << i << " transforms to " << shape[0] << "x" << shape[1] << "x"
        << shape[2] << ", expected " << channels_ << "x" << height_ << "x" << width_;
    transformer_->Transform(datums[i], data.data() + static_cast<size_t>(i) * size_, &rng);
    labels[i] = datums[i].label();
  }
  owned_data_.swap(data);
  owned_labels_.swap(labels);
  Reset(owned_data_.data(), owned_labels_.data(), n);
}

template <typename Dtype>
void MemoryDataLayer<Dtype>::set_batch_size(int batch_size) {
  REQUIRE(batch_size > 0) << "MemoryData: batch_size must be positive";
  REQUIRE(data_ == nullptr || n_ % batch_size == 0)
      << "MemoryData: batch_size " << batch_size << " does not divide the " << n_
      << " items already given";
  batch_size_ = batch_size;
}

template <typename Dtype>
void MemoryDataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                         const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(data_ != nullptr) << "MemoryData: no data given (call Reset or AddDatumVector)";
  top[0]->Reshape(batch_size_, channels_, height_, width_);
  top[1]->Reshape(std::vector<int>{batch_size_});
  caffe_copy(batch_size_ * size_, data_ + static_cast<size_t>(pos_) * size_,
             top[0]->mutable_cpu_data());
  caffe_copy(batch_size_, labels_ + pos_, top[1]->mutable_cpu_data());
  pos_ = (pos_ + batch_size_) % n_;
}

INSTANTIATE_CLASS(MemoryDataLayer);
REGISTER_LAYER_CLASS(MemoryData);

}  // namespace deepspark
