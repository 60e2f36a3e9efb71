#include "dnnl_relu_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlReLULayer::Primitives {
  PlainPair pair;
};

DnnlReLULayer::DnnlReLULayer(const caffe::LayerParameter& param) : DnnlEngineLayer(param) {}

DnnlReLULayer::~DnnlReLULayer() = default;

bool DnnlReLULayer::Build(const std::vector<Blob<float>*>& bottom,
                          const std::vector<Blob<float>*>& top) {
  const int count = bottom[0]->count();
  auto p = std::make_unique<Primitives>();
  const memory::desc md = PlainDesc({count});
  const float slope = this->layer_param_.relu_param().negative_slope();
  dnnl::eltwise_forward::primitive_desc fwd_pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::eltwise_relu,
                                  md, slope),
      UserScratchpadAttr(), CpuEngine());
  dnnl::eltwise_backward::primitive_desc bwd_pd(
      dnnl::eltwise_backward::desc(dnnl::algorithm::eltwise_relu, md, md, slope),
      UserScratchpadAttr(), CpuEngine(), fwd_pd);
  p->pair.Init(md, fwd_pd, bwd_pd, dnnl::eltwise_forward(fwd_pd), dnnl::eltwise_backward(bwd_pd));
  prims_ = std::move(p);
  return true;
}

void DnnlReLULayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                                const std::vector<Blob<float>*>& top) {
  prims_->pair.Forward(bottom[0]->cpu_data(), top[0]->mutable_cpu_data());
}

void DnnlReLULayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                 const std::vector<bool>& propagate_down,
                                 const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0]) return;
  // Caffe's ReLU backward reads the bottom data (the top, in place).
  prims_->pair.Backward(DNNL_ARG_SRC, bottom[0]->cpu_data(), top[0]->cpu_diff(),
                        bottom[0]->mutable_cpu_diff());
}

}  // namespace deepspark
