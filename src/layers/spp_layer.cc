#include "deepspark/layers/spp_layer.hpp"

#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/concat_layer.hpp"
#include "deepspark/layers/flatten_layer.hpp"
#include "deepspark/layers/split_layer.hpp"

namespace deepspark {

template <typename Dtype>
caffe::LayerParameter SPPLayer<Dtype>::PoolingParamFor(const caffe::LayerParameter& spp, int level,
                                                       int height, int width) {
  const int bins = 1 << level;
  // The smallest kernel whose bins windows cover the side; the remainder
  // they hang past it is split between the two pads (the odd cell at the
  // end, where CEIL rounding and Pooling's last-window rule absorb it).
  const int kernel_h = (height + bins - 1) / bins;
  const int kernel_w = (width + bins - 1) / bins;
  const int pad_h = (kernel_h * bins - height + 1) / 2;
  const int pad_w = (kernel_w * bins - width + 1) / 2;
  REQUIRE(pad_h < kernel_h && pad_w < kernel_w)
      << "SPP: a " << height << "x" << width << " bottom is too small for pyramid_height "
      << spp.spp_param().pyramid_height() << ": level " << level << " (" << bins << "x" << bins
      << " bins) would need kernel " << kernel_h << "x" << kernel_w << " with pad " << pad_h << "x"
      << pad_w << " (the pad must be smaller than the kernel)";
  caffe::LayerParameter param;
  param.set_name(spp.name() + "_level" + std::to_string(level));
  param.set_type("Pooling");
  param.set_phase(spp.phase());
  caffe::PoolingParameter* p = param.mutable_pooling_param();
  p->set_kernel_h(kernel_h);
  p->set_kernel_w(kernel_w);
  p->set_stride_h(kernel_h);
  p->set_stride_w(kernel_w);
  p->set_pad_h(pad_h);
  p->set_pad_w(pad_w);
  // The two enums have the same values (MAX, AVE, STOCHASTIC; DEFAULT,
  // CAFFE, CUDNN, DNNL).
  p->set_pool(static_cast<caffe::PoolingParameter::PoolMethod>(spp.spp_param().pool()));
  p->set_engine(static_cast<caffe::PoolingParameter::Engine>(spp.spp_param().engine()));
  return param;
}

template <typename Dtype>
void SPPLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                 const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(top[0] != bottom[0]) << "SPP: in-place computation is not allowed";
  const caffe::SPPParameter& p = this->layer_param_.spp_param();
  REQUIRE(p.pyramid_height() >= 1 && p.pyramid_height() <= 16)
      << "SPP: spp_param.pyramid_height must be between 1 and 16, not " << p.pyramid_height();
  pyramid_height_ = static_cast<int>(p.pyramid_height());
  height_ = width_ = -1;
  pooling_.assign(pyramid_height_, nullptr);
  if (pyramid_height_ == 1) return;  // one Pooling layer straight to the top
  split_tops_.clear();
  pooled_.clear();
  flat_.clear();
  split_top_vec_.clear();
  concat_bottom_vec_.clear();
  flatten_.clear();
  for (int i = 0; i < pyramid_height_; ++i) {
    split_tops_.push_back(std::make_unique<Blob<Dtype>>());
    pooled_.push_back(std::make_unique<Blob<Dtype>>());
    flat_.push_back(std::make_unique<Blob<Dtype>>());
    split_top_vec_.push_back(split_tops_[i].get());
    concat_bottom_vec_.push_back(flat_[i].get());
    flatten_.push_back(std::make_shared<FlattenLayer<Dtype>>(caffe::LayerParameter()));
  }
  split_ = std::make_shared<SplitLayer<Dtype>>(caffe::LayerParameter());
  concat_ = std::make_shared<ConcatLayer<Dtype>>(caffe::LayerParameter());  // axis 1
}

template <typename Dtype>
void SPPLayer<Dtype>::BuildPooling(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  // Marked built only at the end, so that a bottom refused here is refused
  // again (not run with the old layers) on the next Reshape.
  height_ = width_ = -1;
  const int height = bottom[0]->shape(2), width = bottom[0]->shape(3);
  for (int i = 0; i < pyramid_height_; ++i) {
    pooling_[i] =
        LayerRegistry<Dtype>::CreateLayer(PoolingParamFor(this->layer_param_, i, height, width));
  }
  if (pyramid_height_ == 1) {
    pooling_[0]->SetUp(bottom, top);
  } else {
    split_->SetUp(bottom, split_top_vec_);
    for (int i = 0; i < pyramid_height_; ++i) {
      pooling_[i]->SetUp({split_tops_[i].get()}, {pooled_[i].get()});
      flatten_[i]->SetUp({pooled_[i].get()}, {flat_[i].get()});
    }
    concat_->SetUp(concat_bottom_vec_, top);
  }
  height_ = height;
  width_ = width;
}

template <typename Dtype>
void SPPLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                              const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() == 4) << "SPP: the bottom must be (num, channels, height, width), "
                                      << "not " << bottom[0]->shape_string();
  REQUIRE(bottom[0]->shape(2) > 0 && bottom[0]->shape(3) > 0)
      << "SPP: the bottom's height and width must be positive, not " << bottom[0]->shape_string();
  // The kernels depend on H x W only; N and C just reshape the chain.
  if (bottom[0]->shape(2) != height_ || bottom[0]->shape(3) != width_) {
    BuildPooling(bottom, top);
    return;
  }
  if (pyramid_height_ == 1) {
    pooling_[0]->Reshape(bottom, top);
    return;
  }
  split_->Reshape(bottom, split_top_vec_);
  for (int i = 0; i < pyramid_height_; ++i) {
    pooling_[i]->Reshape({split_tops_[i].get()}, {pooled_[i].get()});
    flatten_[i]->Reshape({pooled_[i].get()}, {flat_[i].get()});
  }
  concat_->Reshape(concat_bottom_vec_, top);
}

template <typename Dtype>
void SPPLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  if (pyramid_height_ == 1) {
    pooling_[0]->Forward(bottom, top);
    return;
  }
  split_->Forward(bottom, split_top_vec_);
  for (int i = 0; i < pyramid_height_; ++i) {
    pooling_[i]->Forward({split_tops_[i].get()}, {pooled_[i].get()});
    flatten_[i]->Forward({pooled_[i].get()}, {flat_[i].get()});
  }
  concat_->Forward(concat_bottom_vec_, top);
}

template <typename Dtype>
void SPPLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                   const std::vector<bool>& propagate_down,
                                   const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  if (pyramid_height_ == 1) {
    pooling_[0]->Backward(top, propagate_down, bottom);
    return;
  }
  concat_->Backward(top, std::vector<bool>(pyramid_height_, true), concat_bottom_vec_);
  // Each level's pooling writes its own split top's diff; the split sums them.
  for (int i = 0; i < pyramid_height_; ++i) {
    flatten_[i]->Backward({flat_[i].get()}, {true}, {pooled_[i].get()});
    pooling_[i]->Backward({pooled_[i].get()}, {true}, {split_tops_[i].get()});
  }
  split_->Backward(split_top_vec_, {true}, bottom);
}

INSTANTIATE_CLASS(SPPLayer);
REGISTER_LAYER_CLASS(SPP);

}  // namespace deepspark
