#include "deepspark/layers/inner_product_layer.hpp"

#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/base_conv_layer.hpp"

namespace deepspark {

template <typename Dtype>
void InnerProductLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                          const std::vector<Blob<Dtype>*>& top) {
  const caffe::InnerProductParameter& p = this->layer_param_.inner_product_param();
  REQUIRE(p.has_num_output() && p.num_output() > 0)
      << "inner_product_param.num_output must be given and positive";
  N_ = static_cast<int>(p.num_output());
  bias_term_ = p.bias_term();
  transpose_ = p.transpose();
  axis_ = CheckedAxis(p.axis(), bottom[0]->num_axes(), "inner_product_param.axis");
  K_ = bottom[0]->count(axis_);
  const std::vector<int> weight_shape =
      transpose_ ? std::vector<int>{K_, N_} : std::vector<int>{N_, K_};
  const std::vector<int> bias_shape{N_};
  const size_t num_blobs = bias_term_ ? 2 : 1;
  if (!this->blobs_.empty()) {
    REQUIRE(this->blobs_.size() == num_blobs) << "incorrect number of weight blobs: expected "
                                              << num_blobs << ", got " << this->blobs_.size();
    const std::vector<int>* expected[2] = {&weight_shape, &bias_shape};
    for (size_t i = 0; i < num_blobs; ++i) {
      if (this->blobs_[i]->shape() == *expected[i]) continue;
      // Legacy 4-D blobs (1, 1, N, K) / (1, 1, 1, N) hold the same values.
      Blob<Dtype> want(*expected[i]);
      REQUIRE(this->blobs_[i]->count() == want.count())
          << "incorrect " << (i == 0 ? "weight" : "bias") << " shape: expected "
          << want.shape_string() << "; got " << this->blobs_[i]->shape_string();
      this->blobs_[i]->Reshape(*expected[i]);
    }
  } else {
    this->blobs_.resize(num_blobs);
    this->blobs_[0] = std::make_shared<Blob<Dtype>>(weight_shape);
    GetFiller<Dtype>(p.weight_filler())->Fill(this->blobs_[0].get());
    if (bias_term_) {
      this->blobs_[1] = std::make_shared<Blob<Dtype>>(bias_shape);
      GetFiller<Dtype>(p.bias_filler())->Fill(this->blobs_[1].get());
    }
  }
  for (size_t i = 0; i < num_blobs; ++i) this->set_param_propagate_down(static_cast<int>(i), true);
}

template <typename Dtype>
void InnerProductLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(axis_ < bottom[0]->num_axes() && bottom[0]->count(axis_) == K_)
      << "input size incompatible with inner product parameters: expected " << K_
      << " values per item from axis " << axis_ << ", bottom is " << bottom[0]->shape_string();
  M_ = bottom[0]->count(0, axis_);
  std::vector<int> top_shape(bottom[0]->shape().begin(), bottom[0]->shape().begin() + axis_);
  top_shape.push_back(N_);
  top[0]->Reshape(top_shape);
  // By shape, not count: a batch of 0 has the count (0) of a multiplier never
  // shaped, which has no memory at all.
  if (bias_term_ && bias_multiplier_.shape() != std::vector<int>{M_}) {
    bias_multiplier_.Reshape(std::vector<int>{M_});
    caffe_set(M_, Dtype(1), bias_multiplier_.mutable_cpu_data());
  }
}

template <typename Dtype>
void InnerProductLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                           const std::vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->cpu_data();
  Dtype* top_data = top[0]->mutable_cpu_data();
  const Dtype* weight = this->blobs_[0]->cpu_data();
  if (M_ == 1) {
    // One row: a matrix-vector product is cheaper than a GEMM.
    caffe_cpu_gemv<Dtype>(transpose_ ? CblasTrans : CblasNoTrans, transpose_ ? K_ : N_,
                          transpose_ ? N_ : K_, Dtype(1), weight, bottom_data, Dtype(0), top_data);
    if (bias_term_) caffe_axpy<Dtype>(N_, Dtype(1), this->blobs_[1]->cpu_data(), top_data);
    return;
  }
  engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasNoTrans, transpose_ ? CblasNoTrans : CblasTrans, M_, N_,
                         K_, Dtype(1), bottom_data, weight, Dtype(0), top_data);
  if (bias_term_) {
    engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasNoTrans, CblasNoTrans, M_, N_, 1, Dtype(1),
                           bias_multiplier_.cpu_data(), this->blobs_[1]->cpu_data(), Dtype(1),
                           top_data);
  }
}

template <typename Dtype>
void InnerProductLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                            const std::vector<bool>& propagate_down,
                                            const std::vector<Blob<Dtype>*>& bottom) {
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* bottom_data = bottom[0]->cpu_data();
  if (this->param_propagate_down(0)) {
    Dtype* weight_diff = this->blobs_[0]->mutable_cpu_diff();
    if (transpose_) {
      engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasTrans, CblasNoTrans, K_, N_, M_, Dtype(1),
                             bottom_data, top_diff, Dtype(1), weight_diff);
    } else {
      engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasTrans, CblasNoTrans, N_, K_, M_, Dtype(1), top_diff,
                             bottom_data, Dtype(1), weight_diff);
    }
  }
  if (bias_term_ && this->param_propagate_down(1)) {
    caffe_cpu_gemv<Dtype>(CblasTrans, M_, N_, Dtype(1), top_diff, bias_multiplier_.cpu_data(),
                          Dtype(1), this->blobs_[1]->mutable_cpu_diff());
  }
  if (propagate_down[0]) {
    engine_cpu_gemm<Dtype>(dnnl_gemm_, CblasNoTrans, transpose_ ? CblasTrans : CblasNoTrans, M_, K_,
                           N_, Dtype(1), top_diff, this->blobs_[0]->cpu_data(), Dtype(0),
                           bottom[0]->mutable_cpu_diff());
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(InnerProductLayer)
#endif

INSTANTIATE_CLASS(InnerProductLayer);

}  // namespace deepspark
