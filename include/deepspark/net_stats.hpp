// What a built net costs, layer by layer: top shapes, parameters, forward
// FLOPs and memory (`deepspark inspect`).
//
// FLOPs are those of one forward pass of the whole batch, counted as:
// - Convolution, Deconvolution, InnerProduct: 2 x the multiply-adds of the
//   weights (a multiply and an add each); bias adds are not counted.
//   Convolution: 2 x top count x (input channels / group x kernel area).
// - Pooling: one per window element of every output (kernel area x top count).
// - Eltwise: one per element of every input after the first.
// - Layers that only move, view or look up data (data layers, Split, Reshape,
//   Flatten, Concat, Slice, Crop, Tile, Filter, Embed, ...): none.
// - Every other layer (activations, normalizations, softmax, losses,
//   accuracy): one per element of its first input or of its outputs, the
//   larger; a lower bound for layers that do several operations per element.
// Memory is that of the blobs' data (float): a top that shares its data with
// a bottom (in place, Split, Reshape, Flatten) holds none of its own; a
// shared parameter (ParamSpec name) counts at its owner. Training holds as
// much again for the gradients (diffs), plus the solver's history.
//
// Thread safety: reads the net; the caller must not run it meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepspark/net.hpp"

namespace deepspark {

struct LayerStats {
  std::string name;
  std::string type;
  std::vector<std::vector<int>> top_shapes;
  std::vector<bool> top_shares_bottom;  // per top: its data is a bottom's (no memory of its own)
  int64_t params = 0;                   // elements of the layer's own parameter blobs
  int64_t shared_params = 0;  // elements of blobs shared from an earlier layer (not counted)
  double forward_flops = 0;   // one forward pass of the whole batch
  int64_t top_bytes = 0;      // data of the tops with memory of their own
  int64_t param_bytes = 0;    // data of the layer's own parameter blobs
  std::string flop_rule;      // how forward_flops was counted (see above)
};

struct NetStats {
  std::string name;
  std::vector<LayerStats> layers;
  int64_t params = 0;            // parameter elements, each shared blob once
  int64_t learnable_params = 0;  // of them, those the solver updates (not BatchNorm's statistics)
  double forward_flops = 0;      // one forward pass of the whole batch
  int64_t top_bytes = 0;         // data of every blob of the net, each memory once
  int64_t param_bytes = 0;
  int batch = 0;  // first axis of the first top of the first layer (0 if there is none)
};

NetStats ComputeNetStats(const Net<float>& net);

}  // namespace deepspark
