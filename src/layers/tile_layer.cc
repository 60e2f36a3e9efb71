#include "deepspark/layers/tile_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void TileLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                               const std::vector<Blob<Dtype>*>& top) {
  const caffe::TileParameter& p = this->layer_param_.tile_param();
  const int n = bottom[0]->num_axes();
  REQUIRE(p.axis() >= -n && p.axis() < n)
      << "Tile: axis " << p.axis() << " out of range for bottom of shape "
      << bottom[0]->shape_string();
  axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
  REQUIRE(p.has_tiles()) << "Tile: tile_param.tiles is required";
  REQUIRE(p.tiles() > 0) << "Tile: tiles must be positive, got " << p.tiles();
  tiles_ = p.tiles();
  std::vector<int> top_shape = bottom[0]->shape();
  top_shape[axis_] *= tiles_;
  top[0]->Reshape(top_shape);
  outer_dim_ = bottom[0]->count(0, axis_);
  inner_dim_ = bottom[0]->count(axis_);
}

template <typename Dtype>
void TileLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const Dtype* x = bottom[0]->cpu_data();
  Dtype* y = top[0]->mutable_cpu_data();
  for (int o = 0; o < outer_dim_; ++o) {
    for (int t = 0; t < tiles_; ++t) {
      caffe_copy(inner_dim_, x, y);
      y += inner_dim_;
    }
    x += inner_dim_;
  }
}

template <typename Dtype>
void TileLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) return;
  const Dtype* dy = top[0]->cpu_diff();
  Dtype* dx = bottom[0]->mutable_cpu_diff();
  for (int o = 0; o < outer_dim_; ++o) {
    caffe_copy(inner_dim_, dy, dx);
    dy += inner_dim_;
    for (int t = 1; t < tiles_; ++t) {
      caffe_axpy(inner_dim_, Dtype(1), dy, dx);
      dy += inner_dim_;
    }
    dx += inner_dim_;
  }
}

#ifndef DEEPSPARK_WITH_CUDA
DS_GPU_PATHS_ARE_CPU(TileLayer)
#endif

INSTANTIATE_CLASS(TileLayer);
REGISTER_LAYER_CLASS(Tile);

}  // namespace deepspark
