#include "dnnl_pooling_layer.hpp"

#include "dnnl_common.hpp"

namespace deepspark {

using caffe::PoolingParameter;
using dnnl::memory;
using namespace dnnl_util;

struct DnnlPoolingLayer::Primitives {
  dnnl::pooling_forward::primitive_desc fwd_pd;
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward::primitive_desc bwd_pd;
  dnnl::pooling_backward bwd;
  // Blobs are plain NCHW and the primitives are made for it, so src, dst
  // and their diffs are the blobs' own memory.
  memory src, dst, diff_src, diff_dst;
  memory workspace;  // MAX: the argmax, written by forward, read by backward
  Scratchpad scratchpad;
};

DnnlPoolingLayer::DnnlPoolingLayer(const caffe::LayerParameter& param) : DnnlEngineLayer(param) {}

DnnlPoolingLayer::~DnnlPoolingLayer() = default;

bool DnnlPoolingLayer::Build(const std::vector<Blob<float>*>& bottom,
                             const std::vector<Blob<float>*>& top) {
  const PoolingParameter::PoolMethod method = this->layer_param_.pooling_param().pool();
  if (top.size() > 1) return false;
  if (method != PoolingParameter::MAX && method != PoolingParameter::AVE) return false;
  const memory::dim pad_r_h = (pooled_height_ - 1) * stride_h_ + kernel_h_ - height_ - pad_h_;
  const memory::dim pad_r_w = (pooled_width_ - 1) * stride_w_ + kernel_w_ - width_ - pad_w_;
  // A last window that starts in the padding has no input cell (Caffe's
  // special case); leave it to Caffe's code.
  if ((pooled_height_ - 1) * stride_h_ >= height_ + pad_h_ ||
      (pooled_width_ - 1) * stride_w_ >= width_ + pad_w_) {
    return false;
  }
  dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
  if (method == PoolingParameter::AVE) {
    if (pad_h_ == 0 && pad_w_ == 0) {
      algorithm = dnnl::algorithm::pooling_avg_exclude_padding;
    } else if (pad_r_h <= pad_h_ && pad_r_w <= pad_w_) {
      algorithm = dnnl::algorithm::pooling_avg_include_padding;
    } else {
      return false;  // Caffe's divisor counts pad but not the CEIL overhang
    }
  }
  auto p = std::make_unique<Primitives>();
  const memory::dims src_dims = {bottom[0]->shape(0), channels_, height_, width_};
  const memory::dims dst_dims = {bottom[0]->shape(0), channels_, pooled_height_, pooled_width_};
  const memory::dims strides = {stride_h_, stride_w_}, kernel = {kernel_h_, kernel_w_};
  const memory::dims pad_l = {pad_h_, pad_w_}, pad_r = {pad_r_h, pad_r_w};
  const memory::desc src_md = PlainDesc(src_dims), dst_md = PlainDesc(dst_dims);
  try {
    // Training always: a TEST net's backward (force_backward) needs the
    // MAX workspace too, and it costs one small buffer.
    dnnl::pooling_forward::desc fwd_desc(dnnl::prop_kind::forward_training, algorithm, src_md,
                                         dst_md, strides, kernel, pad_l, pad_r);
    p->fwd_pd = dnnl::pooling_forward::primitive_desc(fwd_desc, UserScratchpadAttr(), CpuEngine());
    dnnl::pooling_backward::desc bwd_desc(algorithm, src_md, dst_md, strides, kernel, pad_l, pad_r);
    p->bwd_pd = dnnl::pooling_backward::primitive_desc(bwd_desc, UserScratchpadAttr(), CpuEngine(),
                                                       p->fwd_pd);
  } catch (const dnnl::error&) {
    return false;  // e.g. a negative right padding (FLOOR rounding)
  }
  p->fwd = dnnl::pooling_forward(p->fwd_pd);
  p->bwd = dnnl::pooling_backward(p->bwd_pd);
  p->src = memory(src_md, CpuEngine(), nullptr);
  p->dst = memory(dst_md, CpuEngine(), nullptr);
  p->diff_src = memory(src_md, CpuEngine(), nullptr);
  p->diff_dst = memory(dst_md, CpuEngine(), nullptr);
  if (algorithm == dnnl::algorithm::pooling_max) {
    p->workspace = memory(p->fwd_pd.workspace_desc(), CpuEngine());
  }
  p->scratchpad.Require(p->fwd_pd.scratchpad_desc());
  p->scratchpad.Require(p->bwd_pd.scratchpad_desc());
  p->scratchpad.Allocate();
  prims_ = std::move(p);
  return true;
}

void DnnlPoolingLayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                                   const std::vector<Blob<float>*>& top) {
  Primitives& p = *prims_;
  p.src.set_data_handle(const_cast<float*>(bottom[0]->cpu_data()));
  p.dst.set_data_handle(top[0]->mutable_cpu_data());
  dnnl::stream& s = ThreadStream();
  p.fwd.execute(s, {{DNNL_ARG_SRC, p.src},
                    {DNNL_ARG_DST, p.dst},
                    {DNNL_ARG_WORKSPACE, p.workspace},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

void DnnlPoolingLayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob<float>*>& bottom) {
  if (!propagate_down[0]) return;
  Primitives& p = *prims_;
  p.diff_dst.set_data_handle(const_cast<float*>(top[0]->cpu_diff()));
  p.diff_src.set_data_handle(bottom[0]->mutable_cpu_diff());
  dnnl::stream& s = ThreadStream();
  p.bwd.execute(s, {{DNNL_ARG_DIFF_DST, p.diff_dst},
                    {DNNL_ARG_DIFF_SRC, p.diff_src},
                    {DNNL_ARG_WORKSPACE, p.workspace},
                    {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
  s.wait();
}

}  // namespace deepspark
