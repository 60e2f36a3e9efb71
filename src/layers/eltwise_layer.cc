#include "deepspark/layers/eltwise_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void EltwiseLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                     const std::vector<Blob<Dtype>*>& top) {
  const caffe::EltwiseParameter& p = this->layer_param_.eltwise_param();
  op_ = p.operation();
  REQUIRE(p.coeff_size() == 0 || p.coeff_size() == static_cast<int>(bottom.size()))
      << "Eltwise: " << p.coeff_size() << " coeff(s) given for " << bottom.size()
      << " bottoms; give one coefficient per bottom or none";
  // As in Caffe, coefficients are rejected for PROD and ignored for MAX.
  REQUIRE(p.coeff_size() == 0 || op_ != caffe::EltwiseParameter::PROD)
      << "Eltwise: coeff is only used with operation SUM, not PROD";
  coeffs_.assign(bottom.size(), Dtype(1));
  if (op_ == caffe::EltwiseParameter::SUM) {
    for (int i = 0; i < p.coeff_size(); ++i) coeffs_[i] = p.coeff(i);
  }
  stable_prod_grad_ = p.stable_prod_grad();
}

template <typename Dtype>
void EltwiseLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  for (size_t i = 1; i < bottom.size(); ++i) {
    REQUIRE(bottom[i]->shape() == bottom[0]->shape())
        << "Eltwise: bottom " << i << " has shape " << bottom[i]->shape_string()
        << " but bottom 0 has shape " << bottom[0]->shape_string()
        << "; all bottoms must have the same shape";
  }
  top[0]->ReshapeLike(*bottom[0]);
  if (op_ == caffe::EltwiseParameter::MAX) {
    const size_t bytes = sizeof(int) * static_cast<size_t>(bottom[0]->count());
    if (!max_idx_ || max_idx_->size() < bytes) max_idx_ = std::make_unique<SyncedMemory>(bytes);
  }
}

template <typename Dtype>
void EltwiseLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const int count = top[0]->count();
  Dtype* top_data = top[0]->mutable_cpu_data();
  switch (op_) {
    case caffe::EltwiseParameter::PROD:
      caffe_mul(count, bottom[0]->cpu_data(), bottom[1]->cpu_data(), top_data);
      for (size_t i = 2; i < bottom.size(); ++i) {
        caffe_mul(count, top_data, bottom[i]->cpu_data(), top_data);
      }
      break;
    case caffe::EltwiseParameter::SUM:
      caffe_set(count, Dtype(0), top_data);
      for (size_t i = 0; i < bottom.size(); ++i) {
        caffe_axpy(count, coeffs_[i], bottom[i]->cpu_data(), top_data);
      }
      break;
    case caffe::EltwiseParameter::MAX: {
      const Dtype* b0 = bottom[0]->cpu_data();
      int* max_idx = static_cast<int*>(max_idx_->mutable_cpu_data());
      for (int j = 0; j < count; ++j) {
        top_data[j] = b0[j];
        max_idx[j] = 0;
      }
      for (size_t i = 1; i < bottom.size(); ++i) {
        const Dtype* b = bottom[i]->cpu_data();
        // Strictly greater: on ties the earlier bottom keeps the gradient.
        for (int j = 0; j < count; ++j) {
          if (b[j] > top_data[j]) {
            top_data[j] = b[j];
            max_idx[j] = static_cast<int>(i);
          }
        }
      }
      break;
    }
    default:
      THROW_ERROR() << "Eltwise: unknown operation " << static_cast<int>(op_);
  }
}

template <typename Dtype>
void EltwiseLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                       const std::vector<bool>& propagate_down,
                                       const std::vector<Blob<Dtype>*>& bottom) {
  const int count = top[0]->count();
  const Dtype* top_data = top[0]->cpu_data();
  const Dtype* top_diff = top[0]->cpu_diff();
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!propagate_down[i]) continue;
    const Dtype* bottom_data = bottom[i]->cpu_data();
    Dtype* bottom_diff = bottom[i]->mutable_cpu_diff();
    switch (op_) {
      case caffe::EltwiseParameter::PROD:
        if (stable_prod_grad_) {
          bool initialized = false;
          for (size_t j = 0; j < bottom.size(); ++j) {
            if (j == i) continue;
            if (!initialized) {
              caffe_copy(count, bottom[j]->cpu_data(), bottom_diff);
              initialized = true;
            } else {
              caffe_mul(count, bottom[j]->cpu_data(), bottom_diff, bottom_diff);
            }
          }
        } else {
          caffe_div(count, top_data, bottom_data, bottom_diff);
        }
        caffe_mul(count, bottom_diff, top_diff, bottom_diff);
        break;
      case caffe::EltwiseParameter::SUM:
        caffe_cpu_scale(count, coeffs_[i], top_diff, bottom_diff);
        break;
      case caffe::EltwiseParameter::MAX: {
        const int* max_idx = static_cast<const int*>(max_idx_->cpu_data());
        for (int j = 0; j < count; ++j) {
          bottom_diff[j] = max_idx[j] == static_cast<int>(i) ? top_diff[j] : Dtype(0);
        }
        break;
      }
      default:
        THROW_ERROR() << "Eltwise: unknown operation " << static_cast<int>(op_);
    }
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(EltwiseLayer)
#endif

INSTANTIATE_CLASS(EltwiseLayer);
REGISTER_LAYER_CLASS(Eltwise);

}  // namespace deepspark
