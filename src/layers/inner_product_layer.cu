// InnerProduct's GPU path: the CPU path's products (inner_product_layer.cc)
// through cuBLAS.
#include "deepspark/gpu_math.hpp"
#include "deepspark/layers/inner_product_layer.hpp"

namespace deepspark {

template <typename Dtype>
void InnerProductLayer<Dtype>::Forward_gpu(const std::vector<Blob<Dtype>*>& bottom,
                                           const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->gpu_data();
  Dtype* top_data = top[0]->mutable_gpu_data();
  const Dtype* weight = this->blobs_[0]->gpu_data();
  if (M_ == 1) {
    caffe_gpu_gemv<Dtype>(transpose_ ? CblasTrans : CblasNoTrans, transpose_ ? K_ : N_,
                          transpose_ ? N_ : K_, Dtype(1), weight, bottom_data, Dtype(0), top_data);
    if (bias_term_) caffe_gpu_axpy<Dtype>(N_, Dtype(1), this->blobs_[1]->gpu_data(), top_data);
    return;
  }
  caffe_gpu_gemm<Dtype>(CblasNoTrans, transpose_ ? CblasNoTrans : CblasTrans, M_, N_, K_, Dtype(1),
                        bottom_data, weight, Dtype(0), top_data);
  if (bias_term_) {
    caffe_gpu_gemm<Dtype>(CblasNoTrans, CblasNoTrans, M_, N_, 1, Dtype(1),
                          bias_multiplier_.gpu_data(), this->blobs_[1]->gpu_data(), Dtype(1),
                          top_data);
  }
}

template <typename Dtype>
void InnerProductLayer<Dtype>::Backward_gpu(const std::vector<Blob<Dtype>*>& top,
                                            const std::vector<bool>& propagate_down,
                                            const std::vector<Blob<Dtype>*>& bottom) {
  const Dtype* top_diff = top[0]->gpu_diff();
  const Dtype* bottom_data = bottom[0]->gpu_data();
  if (this->param_propagate_down(0)) {
    Dtype* weight_diff = this->blobs_[0]->mutable_gpu_diff();
    if (transpose_) {
      caffe_gpu_gemm<Dtype>(CblasTrans, CblasNoTrans, K_, N_, M_, Dtype(1), bottom_data, top_diff,
                            Dtype(1), weight_diff);
    } else {
      caffe_gpu_gemm<Dtype>(CblasTrans, CblasNoTrans, N_, K_, M_, Dtype(1), top_diff, bottom_data,
                            Dtype(1), weight_diff);
    }
  }
  if (bias_term_ && this->param_propagate_down(1)) {
    caffe_gpu_gemv<Dtype>(CblasTrans, M_, N_, Dtype(1), top_diff, bias_multiplier_.gpu_data(),
                          Dtype(1), this->blobs_[1]->mutable_gpu_diff());
  }
  if (propagate_down[0]) {
    caffe_gpu_gemm<Dtype>(CblasNoTrans, transpose_ ? CblasTrans : CblasNoTrans, M_, K_, N_,
                          Dtype(1), top_diff, this->blobs_[0]->gpu_data(), Dtype(0),
                          bottom[0]->mutable_gpu_diff());
  }
}

DS_INSTANTIATE_GPU_PATHS(InnerProductLayer);

}  // namespace deepspark
