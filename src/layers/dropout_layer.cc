#include "deepspark/layers/dropout_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {

template <typename Dtype>
void DropoutLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  threshold_ = this->layer_param_.dropout_param().dropout_ratio();
  REQUIRE(threshold_ >= Dtype(0) && threshold_ < Dtype(1))
      << "Dropout layer: dropout_ratio must be in [0, 1) (got " << threshold_ << ")";
  scale_ = Dtype(1) / (Dtype(1) - threshold_);
}

template <typename Dtype>
void DropoutLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  NeuronLayer<Dtype>::Reshape(bottom, top);
  const size_t bytes = sizeof(unsigned int) * static_cast<size_t>(bottom[0]->count());
  if (!mask_ || mask_->size() < bytes) mask_ = std::make_unique<SyncedMemory>(bytes);
}

template <typename Dtype>
void DropoutLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  const int count = bottom[0]->count();
  if (this->phase_ == caffe::TRAIN) {
    unsigned int* mask = static_cast<unsigned int*>(mask_->mutable_cpu_data());
    caffe_rng_bernoulli(count, Dtype(1) - threshold_, mask);
    ParallelForElements(count, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        y[i] = x[i] * mask[i] * scale_;
      }
    });
  } else if (x != y) {
    caffe_copy(count, x, y);
  }
}

template <typename Dtype>
void DropoutLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  const int count = bottom[0]->count();
  if (this->phase_ == caffe::TRAIN) {
    const unsigned int* mask = static_cast<const unsigned int*>(mask_->cpu_data());
    ParallelForElements(count, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        bottom_diff[i] = top_diff[i] * mask[i] * scale_;
      }
    });
  } else if (top_diff != bottom_diff) {
    caffe_copy(count, top_diff, bottom_diff);
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(DropoutLayer)
#endif

INSTANTIATE_CLASS(DropoutLayer);
REGISTER_LAYER_CLASS(Dropout);

}  // namespace deepspark
