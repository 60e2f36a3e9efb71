#include "dnnl_convolution_layer.hpp"

#include <cstdlib>
#include <cstring>

#include "deepspark/parallel.hpp"
#include "dnnl_common.hpp"

namespace deepspark {

using dnnl::memory;
using namespace dnnl_util;

struct DnnlConvolutionLayer::Primitives {
  memory::dims src_dims, weight_dims, bias_dims, dst_dims;
  memory::dims strides, dilates, pad_l, pad_r;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  LayoutBridge src, weights, dst;
  memory bias;

  bool backward_built = false;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  LayoutBridge bd_diff_dst, bd_weights, bd_diff_src;
  LayoutBridge bw_src, bw_diff_dst, bw_diff_weights;
  memory bw_diff_bias;
  // Plain-layout gradients from oneDNN, added into the blobs' diffs.
  Blob<float> weight_grad, bias_grad;

  Scratchpad scratchpad;
};

namespace {

// oneDNN's direct kernels compute channels in blocks of 16 (AVX-512), so a
// layer with 20 or 50 channels pays for 32 and 64. Where that padding would
// waste more than ~35% of the work, im2col + oneDNN's sgemm is faster
// (LeNet's 1->20 and 20->50 layers: docs/benchmarks.md). A first layer with
// few input channels has its own kernel and pays no input padding.
// DEEPSPARK_DNNL_CONV=direct|gemm overrides the choice (for benchmarks).
bool DirectPays(int in_channels, int out_channels) {
  static const char* forced = std::getenv("DEEPSPARK_DNNL_CONV");
  if (forced != nullptr && std::strcmp(forced, "direct") == 0) return true;
  if (forced != nullptr && std::strcmp(forced, "gemm") == 0) return false;
  auto padded = [](int c) { return static_cast<double>((c + 15) / 16 * 16) / c; };
  const double waste = padded(out_channels) * (in_channels <= 4 ? 1.0 : padded(in_channels));
  return waste <= 1.35;
}

}  // namespace

DnnlConvolutionLayer::DnnlConvolutionLayer(const caffe::LayerParameter& param)
    : DnnlEngineLayer(param) {
  // Where the direct primitive does not run, the im2col path's GEMMs still
  // go through oneDNN.
  dnnl_gemm_ = true;
}

DnnlConvolutionLayer::~DnnlConvolutionLayer() = default;

bool DnnlConvolutionLayer::Build(const std::vector<Blob<float>*>& bottom,
                                 const std::vector<Blob<float>*>& top) {
  if (num_spatial_axes_ != 2 || channel_axis_ != 1 ||
      !DirectPays(channels_ / group_, num_output_ / group_)) {
    return false;
  }
  auto p = std::make_unique<Primitives>();
  const memory::dim n = num_, c = channels_, g = group_, oc = num_output_;
  const memory::dim ih = input_shape(1), iw = input_shape(2);
  const memory::dim oh = output_shape_[0], ow = output_shape_[1];
  p->src_dims = {n, c, ih, iw};
  p->dst_dims = {n, oc, oh, ow};
  // Caffe's (OC, C/G, KH, KW) is goihw with G leading: the same bytes.
  p->weight_dims = g == 1 ? memory::dims{oc, c, kernel_shape_[0], kernel_shape_[1]}
                          : memory::dims{g, oc / g, c / g, kernel_shape_[0], kernel_shape_[1]};
  p->bias_dims = {oc};
  p->strides = {stride_[0], stride_[1]};
  p->dilates = {dilation_[0] - 1, dilation_[1] - 1};
  p->pad_l = {pad_[0], pad_[1]};
  // Right padding that makes oneDNN's output size Caffe's floor formula.
  for (int i = 0; i < 2; ++i) {
    const memory::dim in = i == 0 ? ih : iw, out = i == 0 ? oh : ow;
    p->pad_r.push_back((out - 1) * stride_[i] + (kernel_shape_[i] - 1) * dilation_[i] + 1 - in -
                       pad_[i]);
  }
  try {
    // Training in TEST too: a TEST net's backward (force_backward) needs a
    // training forward as its hint.
    const auto prop = dnnl::prop_kind::forward_training;
    const memory::desc bias_md = bias_term_ ? AnyDesc(p->bias_dims) : memory::desc();
    dnnl::convolution_forward::desc desc(
        prop, dnnl::algorithm::convolution_direct, AnyDesc(p->src_dims), AnyDesc(p->weight_dims),
        bias_md, AnyDesc(p->dst_dims), p->strides, p->dilates, p->pad_l, p->pad_r);
    p->fwd_pd = dnnl::convolution_forward::primitive_desc(desc, UserScratchpadAttr(), CpuEngine());
  } catch (const dnnl::error&) {
    return false;  // e.g. a negative right padding this oneDNN rejects
  }
  p->fwd = dnnl::convolution_forward(p->fwd_pd);
  p->src.Init(PlainDesc(p->src_dims), p->fwd_pd.src_desc());
  p->weights.Init(PlainDesc(p->weight_dims), p->fwd_pd.weights_desc());
  p->dst.Init(PlainDesc(p->dst_dims), p->fwd_pd.dst_desc());
  if (bias_term_) p->bias = memory(p->fwd_pd.bias_desc(), CpuEngine(), nullptr);
  p->scratchpad.Require(p->fwd_pd.scratchpad_desc());
  p->scratchpad.Allocate();
  prims_ = std::move(p);
  return true;
}

void DnnlConvolutionLayer::BuildBackward() {
  Primitives& p = *prims_;
  dnnl::convolution_backward_data::desc data_desc(
      dnnl::algorithm::convolution_direct, AnyDesc(p.src_dims), AnyDesc(p.weight_dims),
      AnyDesc(p.dst_dims), p.strides, p.dilates, p.pad_l, p.pad_r);
  p.bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(data_desc, UserScratchpadAttr(),
                                                                  CpuEngine(), p.fwd_pd);
  p.bwd_data = dnnl::convolution_backward_data(p.bwd_data_pd);
  p.bd_diff_dst.Init(PlainDesc(p.dst_dims), p.bwd_data_pd.diff_dst_desc());
  p.bd_weights.Init(PlainDesc(p.weight_dims), p.bwd_data_pd.weights_desc());
  p.bd_diff_src.Init(PlainDesc(p.src_dims), p.bwd_data_pd.diff_src_desc());

  const memory::desc bias_md = bias_term_ ? AnyDesc(p.bias_dims) : memory::desc();
  dnnl::convolution_backward_weights::desc weights_desc(
      dnnl::algorithm::convolution_direct, AnyDesc(p.src_dims), AnyDesc(p.weight_dims), bias_md,
      AnyDesc(p.dst_dims), p.strides, p.dilates, p.pad_l, p.pad_r);
  p.bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      weights_desc, UserScratchpadAttr(), CpuEngine(), p.fwd_pd);
  p.bwd_weights = dnnl::convolution_backward_weights(p.bwd_weights_pd);
  p.bw_src.Init(PlainDesc(p.src_dims), p.bwd_weights_pd.src_desc());
  p.bw_diff_dst.Init(PlainDesc(p.dst_dims), p.bwd_weights_pd.diff_dst_desc());
  p.bw_diff_weights.Init(PlainDesc(p.weight_dims), p.bwd_weights_pd.diff_weights_desc());
  p.weight_grad.Reshape(std::vector<int>{this->blobs_[0]->count()});
  if (bias_term_) {
    p.bias_grad.Reshape(std::vector<int>{num_output_});
    p.bw_diff_bias = memory(p.bwd_weights_pd.diff_bias_desc(), CpuEngine(), nullptr);
  }
  p.scratchpad.Require(p.bwd_data_pd.scratchpad_desc());
  p.scratchpad.Require(p.bwd_weights_pd.scratchpad_desc());
  p.scratchpad.Allocate();
  p.backward_built = true;
}

void DnnlConvolutionLayer::ForwardDnnl(const std::vector<Blob<float>*>& bottom,
                                       const std::vector<Blob<float>*>& top) {
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  const memory& weights = p.weights.In(this->blobs_[0]->cpu_data(), s);
  if (bias_term_) p.bias.set_data_handle(const_cast<float*>(this->blobs_[1]->cpu_data()));
  for (size_t i = 0; i < bottom.size(); ++i) {
    const memory& src = p.src.In(bottom[i]->cpu_data(), s);
    const memory& dst = p.dst.OutTarget(top[i]->mutable_cpu_data());
    p.fwd.execute(s, {{DNNL_ARG_SRC, src},
                      {DNNL_ARG_WEIGHTS, weights},
                      {DNNL_ARG_BIAS, p.bias},
                      {DNNL_ARG_DST, dst},
                      {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
    p.dst.Out(s);
  }
  s.wait();
}

void DnnlConvolutionLayer::BackwardDnnl(const std::vector<Blob<float>*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob<float>*>& bottom) {
  if (!prims_->backward_built) BuildBackward();
  Primitives& p = *prims_;
  dnnl::stream& s = ThreadStream();
  const bool weight_grad = this->param_propagate_down(0);
  const bool bias_grad = bias_term_ && this->param_propagate_down(1);
  const int weight_count = this->blobs_[0]->count();
  for (size_t i = 0; i < top.size(); ++i) {
    const float* top_diff = top[i]->cpu_diff();
    if (weight_grad || bias_grad) {
      const memory& src = p.bw_src.In(bottom[i]->cpu_data(), s);
      const memory& diff_dst = p.bw_diff_dst.In(top_diff, s);
      const memory& diff_w = p.bw_diff_weights.OutTarget(p.weight_grad.mutable_cpu_data());
      if (bias_term_) p.bw_diff_bias.set_data_handle(p.bias_grad.mutable_cpu_data());
      p.bwd_weights.execute(s, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_DIFF_DST, diff_dst},
                                {DNNL_ARG_DIFF_WEIGHTS, diff_w},
                                {DNNL_ARG_DIFF_BIAS, p.bw_diff_bias},
                                {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
      p.bw_diff_weights.Out(s);
      s.wait();
      if (weight_grad) {
        const float* g = p.weight_grad.cpu_data();
        float* diff = this->blobs_[0]->mutable_cpu_diff();
        ParallelForElements(weight_count, [&](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) diff[k] += g[k];
        });
      }
      if (bias_grad) {
        caffe_axpy<float>(num_output_, 1.f, p.bias_grad.cpu_data(),
                          this->blobs_[1]->mutable_cpu_diff());
      }
    }
    if (propagate_down[i]) {
      const memory& diff_dst = p.bd_diff_dst.In(top_diff, s);
      const memory& weights = p.bd_weights.In(this->blobs_[0]->cpu_data(), s);
      const memory& diff_src = p.bd_diff_src.OutTarget(bottom[i]->mutable_cpu_diff());
      p.bwd_data.execute(s, {{DNNL_ARG_DIFF_DST, diff_dst},
                             {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_DIFF_SRC, diff_src},
                             {DNNL_ARG_SCRATCHPAD, p.scratchpad.memory()}});
      p.bd_diff_src.Out(s);
      s.wait();
    }
  }
}

}  // namespace deepspark
