#include "deepspark/layers/input_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void InputLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  const caffe::InputParameter& param = this->layer_param_.input_param();
  const int num_shapes = param.shape_size();
  REQUIRE(num_shapes == 0 || num_shapes == 1 || num_shapes == static_cast<int>(top.size()))
      << "input_param: " << num_shapes << " shapes for " << top.size()
      << " tops; give one shape for all tops or one per top";
  if (num_shapes == 0) return;
  for (size_t i = 0; i < top.size(); ++i) {
    const caffe::BlobShape& shape = param.shape(num_shapes == 1 ? 0 : i);
    for (int d = 0; d < shape.dim_size(); ++d) {
      REQUIRE(shape.dim(d) >= 0) << "input_param: negative dimension in shape of top " << i;
    }
    top[i]->Reshape(shape);
  }
}

INSTANTIATE_CLASS(InputLayer);
REGISTER_LAYER_CLASS(Input);

}  // namespace deepspark
