#include "dnnl_softmax_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlSoftmaxLayer::Primitives {
  PlainPair pair;
};

DnnlSoftmaxLayer::DnnlSoftmaxLayer(const caffe::LayerParameter& param) : DnnlEngineLayer(param) {}

DnnlSoftmaxLayer::~DnnlSoftmaxLayer() = default;

bool DnnlSoftmaxLayer::Build(const std::vector<Blob<float>*>& bottom,
                             const std::vector<Blob<float>*>& top) {
  auto p = std::make_unique<Primitives>();
  const memory::desc md = PlainDesc({outer_num_, channels_, inner_num_});
  try {
    dnnl::softmax_forward::primitive_desc fwd_pd(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, 1), UserScratchpadAttr(),
        CpuEngine());
    dnnl::softmax_backward::primitive_desc bwd_pd(dnnl::softmax_backward::desc(md, md, 1),
                                                  UserScratchpadAttr(), CpuEngine(), fwd_pd);
    p->pair.Init(md, fwd_pd, bwd_pd, dnnl::softmax_forward(fwd_pd), dnnl::softmax_backward(bwd_pd));
  } catch (const dnnl::error&) {
    return false;  // Caffe's code runs
  }
  prims_ = std::move(p);
  return true;
}

void DnnlSoftmaxLayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                                   const std::vector<Blob<float>*>& top) {
  prims_->pair.Forward(bottom[0]->cpu_data(), top[0]->mutable_cpu_data());
}

void DnnlSoftmaxLayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0]) return;
  // Softmax's gradient needs its output.
  prims_->pair.Backward(DNNL_ARG_DST, top[0]->cpu_data(), top[0]->cpu_diff(),
                        bottom[0]->mutable_cpu_diff());
}

}  // namespace deepspark
