// Creators of the layer types that have more than one engine (see
// deepspark/engine.hpp): as Caffe's layer_factory.cpp picks CAFFE or CUDNN,
// these pick Caffe's CPU code or oneDNN from the layer's `engine` field and
// the process default. oneDNN computes in float only: double layers always
// get Caffe's code.
#include <type_traits>

#include "deepspark/engine.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/inner_product_layer.hpp"
#include "dnnl_batch_norm_layer.hpp"
#include "dnnl_convolution_layer.hpp"
#include "dnnl_lrn_layer.hpp"
#include "dnnl_pooling_layer.hpp"
#include "dnnl_relu_layer.hpp"
#include "dnnl_softmax_layer.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
constexpr bool kHasDnnl = std::is_same<Dtype, float>::value;

// The oneDNN class when engine_field (the layer's `engine`, or 0 = DEFAULT
// for types whose parameters have none) resolves to DNNL, else Caffe's.
template <typename Dtype, template <typename> class CaffeLayer, typename DnnlLayerType>
std::shared_ptr<Layer<Dtype>> Pick(const caffe::LayerParameter& param, int engine_field) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(engine_field) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlLayerType>(param);
    }
  }
  return std::make_shared<CaffeLayer<Dtype>>(param);
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetConvolutionLayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, ConvolutionLayer, DnnlConvolutionLayer>(p, p.convolution_param().engine());
}
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetPoolingLayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, PoolingLayer, DnnlPoolingLayer>(p, p.pooling_param().engine());
}
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetLRNLayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, LRNLayer, DnnlLRNLayer>(p, p.lrn_param().engine());
}
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetReLULayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, ReLULayer, DnnlReLULayer>(p, p.relu_param().engine());
}
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetSoftmaxLayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, SoftmaxLayer, DnnlSoftmaxLayer>(p, p.softmax_param().engine());
}
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetBatchNormLayer(const caffe::LayerParameter& p) {
  return Pick<Dtype, BatchNormLayer, DnnlBatchNormLayer>(p, 0);
}

// InnerProduct has no engine field either; its one difference is the GEMM.
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetInnerProductLayer(const caffe::LayerParameter& param) {
  auto layer = std::make_shared<InnerProductLayer<Dtype>>(param);
  layer->set_dnnl_gemm(kHasDnnl<Dtype> && DefaultEngine() == ComputeEngine::kDnnl);
  return layer;
}

}  // namespace

REGISTER_LAYER_CREATOR(BatchNorm, GetBatchNormLayer);
REGISTER_LAYER_CREATOR(ReLU, GetReLULayer);
REGISTER_LAYER_CREATOR(Softmax, GetSoftmaxLayer);
REGISTER_LAYER_CREATOR(LRN, GetLRNLayer);
REGISTER_LAYER_CREATOR(InnerProduct, GetInnerProductLayer);
REGISTER_LAYER_CREATOR(Convolution, GetConvolutionLayer);
REGISTER_LAYER_CREATOR(Pooling, GetPoolingLayer);

}  // namespace deepspark
