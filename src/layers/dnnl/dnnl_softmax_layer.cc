#include "dnnl_softmax_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlSoftmaxLayer::Primitives {
  dnnl::softmax_forward fwd;
  dnnl::softmax_backward bwd;
  memory src, dst, diff_src, diff_dst;
  Scratchpad scratchpad;
};

DnnlSoftmaxLayer::DnnlSoftmaxLayer(const caffe::LayerParameter& param)
    : SoftmaxLayer<float>(param) {}

DnnlSoftmaxLayer::~DnnlSoftmaxLayer() = default;

void DnnlSoftmaxLayer::Reshape(const std::vector<Blob<float>*>& bottom,
                               const std::vector<Blob<float>*>& top) {
  SoftmaxLayer<float>::Reshape(bottom, top);
  const std::vector<int> dims{outer_num_, channels_, inner_num_};
  if (dims == built_dims_) return;
  built_dims_ = dims;
  prims_.reset();
  if (bottom[0]->count() == 0) return;
  auto p = std::make_unique<Primitives>();
  const memory::desc md = PlainDesc({outer_num_, channels_, inner_num_});
  try {
    dnnl::softmax_forward::primitive_desc fwd_pd(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, 1), UserScratchpadAttr(),
        CpuEngine());
    dnnl::softmax_backward::primitive_desc bwd_pd(dnnl::softmax_backward::desc(md, md, 1),
                                                  UserScratchpadAttr(), CpuEngine(), fwd_pd);
    p->fwd = dnnl::softmax_forward(fwd_pd);
    p->bwd = dnnl::softmax_backward(bwd_pd);
    p->scratchpad.Require(fwd_pd.scratchpad_desc());
    p->scratchpad.Require(bwd_pd.scratchpad_desc());
  } catch (const dnnl::error&) {
    return;  // Caffe's code runs
  }
  for (memory* m : {&p->src, &p->dst, &p->diff_src, &p->diff_dst}) {
    *m = memory(md, CpuEngine(), nullptr);
  }
  p->scratchpad.Allocate();
  prims_ = std::move(p);
}

void DnnlSoftmaxLayer::Forward_cpu(const std::vector<Blob<float>*>& bottom,
                                   const std::vector<Blob<float>*>& top) {
  if (!prims_) {
    SoftmaxLayer<float>::Forward_cpu(bottom, top);
    return;
  }
  Primitives& p = *prims_;
  p.src.set_data_handle(const_cast<float*>(bottom[0]->cpu_data()));
  p.dst.set_data_handle(top[0]->mutable_cpu_data());
  dnnl::stream& s = ThreadStream();
  p.fwd.execute(
      s,
      {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}, {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

void DnnlSoftmaxLayer::Backward_cpu(const std::vector<Blob<float>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<float>*>& bottom) {
  if (!prims_) {
    SoftmaxLayer<float>::Backward_cpu(top, propagate_down, bottom);
    return;
  }
  if (!propagate_down[0]) return;
  Primitives& p = *prims_;
  p.dst.set_data_handle(const_cast<float*>(top[0]->cpu_data()));
  p.diff_dst.set_data_handle(const_cast<float*>(top[0]->cpu_diff()));
  p.diff_src.set_data_handle(bottom[0]->mutable_cpu_diff());
  dnnl::stream& s = ThreadStream();
  p.bwd.execute(s, {{DNNL_ARG_DST, p.dst},
                    {DNNL_ARG_DIFF_DST, p.diff_dst},
                    {DNNL_ARG_DIFF_SRC, p.diff_src},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

}  // namespace deepspark
