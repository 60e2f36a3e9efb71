// Shared plumbing of the oneDNN layers (src/layers/dnnl): the CPU engine, a
// stream per thread, plain (Caffe-layout) memory descriptors, and
// LayoutBridge, which moves one tensor between Caffe's plain layout (what
// blobs and .caffemodel files hold) and the layout a primitive prefers.
//
// Why bridges: oneDNN's fastest kernels read blocked layouts (nChw16c, ...);
// blobs stay in Caffe's NCHW so that every other layer, the solver and the
// files see Caffe's layout. A bridge's buffer and its reorder primitives are
// made once per shape (at Reshape), so a step allocates nothing; when the
// primitive accepts the plain layout the bridge is a no-op.
//
// Thread safety: a bridge belongs to one layer (one thread); CpuEngine is
// safe from any thread; ThreadStream returns the calling thread's stream.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace deepspark {
namespace dnnl_util {

dnnl::engine& CpuEngine();
dnnl::stream& ThreadStream();

// A float tensor in a plain row-major layout (nchw, oihw, nc, x, ...).
dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims);
// The same dims with the layout left to the primitive (format any).
dnnl::memory::desc AnyDesc(const dnnl::memory::dims& dims);

// Attributes every primitive gets: a user-owned scratchpad, so the layer
// allocates it once instead of oneDNN growing a buffer on its own.
dnnl::primitive_attr UserScratchpadAttr();

class LayoutBridge {
 public:
  // user_md: the plain layout of the blob; prim_md: the primitive's layout.
  void Init(const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md);
  bool reorders() const { return reorders_; }

  // For a primitive input: points the plain side at data and returns the
  // memory to pass to the primitive (data itself, or the buffer after a
  // reorder from data).
  const dnnl::memory& In(const float* data, dnnl::stream& stream);
  // The memory the last In() returned, without reordering again: for a
  // backward pass that reads the same input as its forward.
  const dnnl::memory& Kept(const float* data);
  // For a primitive output: returns the memory the primitive writes (data
  // itself or the buffer); call Out() afterwards to move it into data.
  const dnnl::memory& OutTarget(float* data);
  void Out(dnnl::stream& stream);

 private:
  bool reorders_ = false;
  dnnl::memory user_;
  dnnl::memory prim_;
  dnnl::reorder to_prim_;
  dnnl::reorder to_user_;
};

// A scratchpad sized for the largest of several primitive descriptors.
class Scratchpad {
 public:
  void Require(const dnnl::memory::desc& md) {
    if (md.get_size() > size_) size_ = md.get_size();
  }
  // Allocates once for the largest requirement seen so far.
  void Allocate();
  const dnnl::memory& memory() const { return memory_; }

 private:
  size_t size_ = 0;
  size_t allocated_ = 0;
  std::vector<unsigned char> bytes_;
  dnnl::memory memory_;
};

// A forward and backward primitive on plain tensors of one shape (ReLU,
// softmax): the blobs' own memory goes straight in, nothing is reordered.
class PlainPair {
 public:
  // md: the tensor (src, dst and both diffs); fwd_pd/bwd_pd: the primitives'
  // descriptors, for their scratchpads.
  void Init(const dnnl::memory::desc& md, const dnnl::primitive_desc_base& fwd_pd,
            const dnnl::primitive_desc_base& bwd_pd, dnnl::primitive fwd, dnnl::primitive bwd);
  void Forward(const float* src, float* dst);
  // saved_arg: DNNL_ARG_SRC or DNNL_ARG_DST, the forward tensor the backward
  // primitive reads (saved holds it).
  void Backward(int saved_arg, const float* saved, const float* diff_dst, float* diff_src);

 private:
  dnnl::primitive fwd_, bwd_;
  dnnl::memory src_, dst_, diff_src_, diff_dst_;
  Scratchpad scratchpad_;
};

}  // namespace dnnl_util
}  // namespace deepspark
