#include "dnnl_batch_norm_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlBatchNormLayer::Primitives {
  dnnl::batch_normalization_forward fwd;
  dnnl::batch_normalization_backward bwd;
  LayoutBridge src, dst, diff_dst, diff_src;
  memory mean, variance;  // per channel, pointing at mean_ and dnnl_var_
  Scratchpad scratchpad;
};

DnnlBatchNormLayer::DnnlBatchNormLayer(const caffe::LayerParameter& param)
    : DnnlEngineLayer(param) {}

DnnlBatchNormLayer::~DnnlBatchNormLayer() = default;

bool DnnlBatchNormLayer::Build(const std::vector<Blob<float>*>& bottom,
                               const std::vector<Blob<float>*>& top) {
  if (bottom[0]->num_axes() != 4) return false;
  auto p = std::make_unique<Primitives>();
  const memory::dims dims = {bottom[0]->shape(0), channels_, bottom[0]->shape(2),
                             bottom[0]->shape(3)};
  const memory::desc plain = PlainDesc(dims);
  const memory::desc blocked(dims, memory::data_type::f32, memory::format_tag::nChw16c);
  const auto global = dnnl::normalization_flags::use_global_stats;
  try {
    // Forward always normalizes with given statistics (ours).
    dnnl::batch_normalization_forward::primitive_desc fwd_pd(
        dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, blocked, eps_,
                                                global),
        UserScratchpadAttr(), CpuEngine());
    // Backward: the full batch gradient in training; with global stats the
    // statistics are constants. The hint must carry the same flags.
    const auto bwd_flags = use_global_stats_ ? global : dnnl::normalization_flags::none;
    dnnl::batch_normalization_forward::primitive_desc hint_pd(
        dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, blocked, eps_,
                                                bwd_flags),
        CpuEngine());
    dnnl::batch_normalization_backward::primitive_desc bwd_pd(
        dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward_data, blocked, blocked,
                                                 eps_, bwd_flags),
        UserScratchpadAttr(), CpuEngine(), hint_pd);
    p->fwd = dnnl::batch_normalization_forward(fwd_pd);
    p->bwd = dnnl::batch_normalization_backward(bwd_pd);
    p->mean = memory(fwd_pd.mean_desc(), CpuEngine(), nullptr);
    p->variance = memory(fwd_pd.variance_desc(), CpuEngine(), nullptr);
    p->scratchpad.Require(fwd_pd.scratchpad_desc());
    p->scratchpad.Require(bwd_pd.scratchpad_desc());
  } catch (const dnnl::error&) {
    return false;
  }
  p->src.Init(plain, blocked);
  // Backward reads the input Forward reordered; a shape where nChw16c is
  // NCHW itself would leave nothing kept.
  if (!p->src.reorders()) return false;
  p->dst.Init(plain, blocked);
  p->diff_dst.Init(plain, blocked);
  p->diff_src.Init(plain, blocked);
  p->scratchpad.Allocate();
  dnnl_var_.resize(channels_);
  prims_ = std::move(p);
  return true;
}

void DnnlBatchNormLayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                                     const std::vector<Blob<float>*>& top) {
  const int num = bottom[0]->shape(0);
  const int spatial = bottom[0]->count() / (num * channels_);
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  // Reorder first: in place, the top overwrites the bottom.
  const memory& src = p.src.In(bottom[0]->cpu_data(), s);
  s.wait();
  ComputeStatistics(bottom[0]->cpu_data(), num, spatial);
  dnnl_var_ = var_;
  AddEpsilon();  // inv_std_ for a global-stats backward, var_ as Caffe keeps it
  p.mean.set_data_handle(mean_.data());
  p.variance.set_data_handle(dnnl_var_.data());
  const memory& dst = p.dst.OutTarget(top[0]->mutable_cpu_data());
  p.fwd.execute(s, {{DNNL_ARG_SRC, src},
                    {DNNL_ARG_MEAN, p.mean},
                    {DNNL_ARG_VARIANCE, p.variance},
                    {DNNL_ARG_DST, dst},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  p.dst.Out(s);
  s.wait();
}

void DnnlBatchNormLayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0]) return;
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  // The input as Forward saw it (kept in the bridge: in place, the bottom
  // blob now holds the top).
  const memory& src = p.src.Kept(nullptr);
  const memory& diff_dst = p.diff_dst.In(top[0]->cpu_diff(), s);
  const memory& diff_src = p.diff_src.OutTarget(bottom[0]->mutable_cpu_diff());
  p.bwd.execute(s, {{DNNL_ARG_SRC, src},
                    {DNNL_ARG_MEAN, p.mean},
                    {DNNL_ARG_VARIANCE, p.variance},
                    {DNNL_ARG_DIFF_DST, diff_dst},
                    {DNNL_ARG_DIFF_SRC, diff_src},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  p.diff_src.Out(s);
  s.wait();
}

}  // namespace deepspark
