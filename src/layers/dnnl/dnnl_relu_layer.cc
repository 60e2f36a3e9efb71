#include "dnnl_relu_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlReLULayer::Primitives {
  dnnl::eltwise_forward fwd;
  dnnl::eltwise_backward bwd;
  memory src, dst, diff_src, diff_dst;
  Scratchpad scratchpad;
};

DnnlReLULayer::DnnlReLULayer(const caffe::LayerParameter& param) : ReLULayer<float>(param) {}

DnnlReLULayer::~DnnlReLULayer() = default;

void DnnlReLULayer::Reshape(const std::vector<Blob<float>*>& bottom,
                            const std::vector<Blob<float>*>& top) {
  ReLULayer<float>::Reshape(bottom, top);
  const int count = bottom[0]->count();
  if (count == built_count_) return;
  built_count_ = count;
  prims_.reset();
  if (count == 0) return;
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
  p->fwd = dnnl::eltwise_forward(fwd_pd);
  p->bwd = dnnl::eltwise_backward(bwd_pd);
  for (memory* m : {&p->src, &p->dst, &p->diff_src, &p->diff_dst}) {
    *m = memory(md, CpuEngine(), nullptr);
  }
  p->scratchpad.Require(fwd_pd.scratchpad_desc());
  p->scratchpad.Require(bwd_pd.scratchpad_desc());
  p->scratchpad.Allocate();
  prims_ = std::move(p);
}

void DnnlReLULayer::Forward_cpu(const std::vector<Blob<float>*>& bottom,
                                const std::vector<Blob<float>*>& top) {
  if (!prims_) return;  // an empty blob
  Primitives& p = *prims_;
  p.src.set_data_handle(const_cast<float*>(bottom[0]->cpu_data()));
  p.dst.set_data_handle(top[0]->mutable_cpu_data());
  dnnl::stream& s = ThreadStream();
  p.fwd.execute(
      s,
      {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}, {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

void DnnlReLULayer::Backward_cpu(const std::vector<Blob<float>*>& top,
                                 const std::vector<bool>& propagate_down,
                                 const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0] || !prims_) return;
  Primitives& p = *prims_;
  p.src.set_data_handle(const_cast<float*>(bottom[0]->cpu_data()));
  p.diff_dst.set_data_handle(const_cast<float*>(top[0]->cpu_diff()));
  p.diff_src.set_data_handle(bottom[0]->mutable_cpu_diff());
  dnnl::stream& s = ThreadStream();
  p.bwd.execute(s, {{DNNL_ARG_SRC, p.src},
                    {DNNL_ARG_DIFF_DST, p.diff_dst},
                    {DNNL_ARG_DIFF_SRC, p.diff_src},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

}  // namespace deepspark
