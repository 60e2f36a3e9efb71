#include "dnnl_common.hpp"

namespace deepspark {
namespace dnnl_util {

using dnnl::memory;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

memory::desc PlainDesc(const memory::dims& dims) {
  // Row-major strides: the blob's layout whatever the rank.
  memory::dims strides(dims.size());
  memory::dim stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc AnyDesc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

dnnl::primitive_attr UserScratchpadAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void LayoutBridge::Init(const memory::desc& user_md, const memory::desc& prim_md) {
  user_ = memory(user_md, CpuEngine(), nullptr);
  reorders_ = user_md != prim_md;
  if (reorders_) {
    prim_ = memory(prim_md, CpuEngine());  // the one buffer, allocated here
    to_prim_ = dnnl::reorder(user_, prim_);
    to_user_ = dnnl::reorder(prim_, user_);
  } else {
    prim_ = memory();
    to_prim_ = dnnl::reorder();
    to_user_ = dnnl::reorder();
  }
}

const memory& LayoutBridge::In(const float* data, dnnl::stream& stream) {
  user_.set_data_handle(const_cast<float*>(data));
  if (!reorders_) return user_;
  to_prim_.execute(stream, user_, prim_);
  return prim_;
}

const memory& LayoutBridge::Kept(const float* data) {
  user_.set_data_handle(const_cast<float*>(data));
  return reorders_ ? prim_ : user_;
}

const memory& LayoutBridge::OutTarget(float* data) {
  user_.set_data_handle(data);
  return reorders_ ? prim_ : user_;
}

void LayoutBridge::Out(dnnl::stream& stream) {
  if (reorders_) to_user_.execute(stream, prim_, user_);
}

void Scratchpad::Allocate() {
  if (size_ > allocated_ || !memory_) {
    bytes_.resize(size_ + 64);
    allocated_ = size_;
    memory::desc md({static_cast<memory::dim>(size_ > 0 ? size_ : 1)}, memory::data_type::u8,
                    memory::format_tag::a);
    memory_ = dnnl::memory(md, CpuEngine(), bytes_.data());
  }
}

void PlainPair::Init(const memory::desc& md, const dnnl::primitive_desc_base& fwd_pd,
                     const dnnl::primitive_desc_base& bwd_pd, dnnl::primitive fwd,
                     dnnl::primitive bwd) {
  fwd_ = std::move(fwd);
  bwd_ = std::move(bwd);
  for (memory* m : {&src_, &dst_, &diff_src_, &diff_dst_}) *m = memory(md, CpuEngine(), nullptr);
  scratchpad_.Require(fwd_pd.scratchpad_desc());
  scratchpad_.Require(bwd_pd.scratchpad_desc());
  scratchpad_.Allocate();
}

void PlainPair::Forward(const float* src, float* dst) {
  src_.set_data_handle(const_cast<float*>(src));
  dst_.set_data_handle(dst);
  dnnl::stream& s = ThreadStream();
  fwd_.execute(
      s, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_SCRATCHPAD, scratchpad_.memory()}});
  s.wait();
}

void PlainPair::Backward(int saved_arg, const float* saved, const float* diff_dst,
                         float* diff_src) {
  memory& saved_memory = saved_arg == DNNL_ARG_SRC ? src_ : dst_;
  saved_memory.set_data_handle(const_cast<float*>(saved));
  diff_dst_.set_data_handle(const_cast<float*>(diff_dst));
  diff_src_.set_data_handle(diff_src);
  dnnl::stream& s = ThreadStream();
  bwd_.execute(s, {{saved_arg, saved_memory},
                   {DNNL_ARG_DIFF_DST, diff_dst_},
                   {DNNL_ARG_DIFF_SRC, diff_src_},
                   {DNNL_ARG_SCRATCHPAD, scratchpad_.memory()}});
  s.wait();
}

}  // namespace dnnl_util
}  // namespace deepspark
