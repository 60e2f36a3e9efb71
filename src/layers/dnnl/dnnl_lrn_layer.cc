#include "dnnl_lrn_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlLRNLayer::Primitives {
  dnnl::lrn_forward::primitive_desc fwd_pd;
  dnnl::lrn_forward fwd;
  dnnl::lrn_backward::primitive_desc bwd_pd;
  dnnl::lrn_backward bwd;
  // Blobs (plain NCHW) <-> the primitives' layout: oneDNN 2.6 has JIT
  // kernels for LRN backward on nChw16c only (on NCHW it runs a reference
  // loop, ~40x slower), so ACROSS_CHANNELS computes in nChw16c.
  LayoutBridge src, dst, diff_src, diff_dst;
  memory workspace;  // what forward keeps for backward (oneDNN's choice)
  Scratchpad scratchpad;
};

DnnlLRNLayer::DnnlLRNLayer(const caffe::LayerParameter& param) : DnnlEngineLayer(param) {}

DnnlLRNLayer::~DnnlLRNLayer() = default;

bool DnnlLRNLayer::Build(const std::vector<Blob<float>*>& bottom,
                         const std::vector<Blob<float>*>& top) {
  auto p = std::make_unique<Primitives>();
  const memory::dims dims = {num_, channels_, height_, width_};
  const memory::desc plain = PlainDesc(dims);
  const memory::desc md =
      across_channels_ ? memory::desc(dims, memory::data_type::f32, memory::format_tag::nChw16c)
                       : plain;
  const auto algorithm =
      across_channels_ ? dnnl::algorithm::lrn_across_channels : dnnl::algorithm::lrn_within_channel;
  const float k = across_channels_ ? k_ : 1.f;
  try {
    dnnl::lrn_forward::desc fwd_desc(dnnl::prop_kind::forward_training, algorithm, md, size_,
                                     alpha_, beta_, k);
    p->fwd_pd = dnnl::lrn_forward::primitive_desc(fwd_desc, UserScratchpadAttr(), CpuEngine());
    dnnl::lrn_backward::desc bwd_desc(algorithm, md, md, size_, alpha_, beta_, k);
    p->bwd_pd =
        dnnl::lrn_backward::primitive_desc(bwd_desc, UserScratchpadAttr(), CpuEngine(), p->fwd_pd);
  } catch (const dnnl::error&) {
    return false;
  }
  p->fwd = dnnl::lrn_forward(p->fwd_pd);
  p->bwd = dnnl::lrn_backward(p->bwd_pd);
  p->src.Init(plain, md);
  p->dst.Init(plain, md);
  p->diff_src.Init(plain, md);
  p->diff_dst.Init(plain, md);
  p->workspace = memory(p->fwd_pd.workspace_desc(), CpuEngine());
  p->scratchpad.Require(p->fwd_pd.scratchpad_desc());
  p->scratchpad.Require(p->bwd_pd.scratchpad_desc());
  p->scratchpad.Allocate();
  prims_ = std::move(p);
  return true;
}

void DnnlLRNLayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                               const std::vector<Blob<float>*>& top) {
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  // The src bridge's buffer keeps the reordered input until Backward.
  const memory& src = p.src.In(bottom[0]->cpu_data(), s);
  const memory& dst = p.dst.OutTarget(top[0]->mutable_cpu_data());
  p.fwd.execute(s, {{DNNL_ARG_SRC, src},
                    {DNNL_ARG_DST, dst},
                    {DNNL_ARG_WORKSPACE, p.workspace},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  p.dst.Out(s);
  s.wait();
}

void DnnlLRNLayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0]) return;
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  // Forward left the (reordered) input in the src bridge; the bottom has
  // not changed since (Caffe's LRN backward reads the same bottom data).
  const memory& src = p.src.Kept(bottom[0]->cpu_data());
  const memory& diff_dst = p.diff_dst.In(top[0]->cpu_diff(), s);
  const memory& diff_src = p.diff_src.OutTarget(bottom[0]->mutable_cpu_diff());
  p.bwd.execute(s, {{DNNL_ARG_SRC, src},
                    {DNNL_ARG_DIFF_DST, diff_dst},
                    {DNNL_ARG_DIFF_SRC, diff_src},
                    {DNNL_ARG_WORKSPACE, p.workspace},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  p.diff_src.Out(s);
  s.wait();
}

}  // namespace deepspark
