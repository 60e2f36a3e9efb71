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

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetConvolutionLayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(param.convolution_param().engine()) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlConvolutionLayer>(param);
    }
  }
  return std::make_shared<ConvolutionLayer<Dtype>>(param);
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetPoolingLayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(param.pooling_param().engine()) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlPoolingLayer>(param);
    }
  }
  return std::make_shared<PoolingLayer<Dtype>>(param);
}

// InnerProduct has no engine field in Caffe's schema: the default decides.
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetInnerProductLayer(const caffe::LayerParameter& param) {
  auto layer = std::make_shared<InnerProductLayer<Dtype>>(param);
  layer->set_dnnl_gemm(kHasDnnl<Dtype> && DefaultEngine() == ComputeEngine::kDnnl);
  return layer;
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetLRNLayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(param.lrn_param().engine()) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlLRNLayer>(param);
    }
  }
  return std::make_shared<LRNLayer<Dtype>>(param);
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetReLULayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(param.relu_param().engine()) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlReLULayer>(param);
    }
  }
  return std::make_shared<ReLULayer<Dtype>>(param);
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetSoftmaxLayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (ResolveEngine(param.softmax_param().engine()) == ComputeEngine::kDnnl) {
      return std::make_shared<DnnlSoftmaxLayer>(param);
    }
  }
  return std::make_shared<SoftmaxLayer<Dtype>>(param);
}

// BatchNorm has no engine field in Caffe's schema: the default decides.
template <typename Dtype>
std::shared_ptr<Layer<Dtype>> GetBatchNormLayer(const caffe::LayerParameter& param) {
  if constexpr (kHasDnnl<Dtype>) {
    if (DefaultEngine() == ComputeEngine::kDnnl) return std::make_shared<DnnlBatchNormLayer>(param);
  }
  return std::make_shared<BatchNormLayer<Dtype>>(param);
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
