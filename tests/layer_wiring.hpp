// How the tests that sweep over every registered layer type wire one: the
// parameters of the types that have no usable defaults, and the bottoms a
// type is tried with (empty_batch_test.cc, gpu_every_layer_test.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "deepspark/layer_factory.hpp"

namespace deepspark {
namespace layer_wiring {

// Parameters for the types that have no usable defaults (a kernel size, a
// number of outputs); every other type is tried with its defaults.
inline const std::map<std::string, std::string>& ParamsFor() {
  static const auto* params = new std::map<std::string, std::string>{
      {"Convolution", "convolution_param { num_output: 2 kernel_size: 3 pad: 1 }"},
      {"Deconvolution", "convolution_param { num_output: 2 kernel_size: 3 pad: 1 }"},
      {"Im2col", "convolution_param { kernel_size: 2 }"},
      {"Pooling", "pooling_param { kernel_size: 2 stride: 2 }"},
      {"SPP", "spp_param { pyramid_height: 2 }"},
      {"InnerProduct", "inner_product_param { num_output: 2 }"},
      {"Embed", "embed_param { num_output: 2 input_dim: 10 }"},
      {"Reshape", "reshape_param { shape { dim: 0 dim: -1 } }"},
      {"Tile", "tile_param { tiles: 2 }"},
      {"Clip", "clip_param { min: -1 max: 1 }"},
      {"LSTM", "recurrent_param { num_output: 2 }"},
      {"RNN", "recurrent_param { num_output: 2 }"},
  };
  return *params;
}

// One input blob: its name, its shape with N for the batch, and what it
// holds: values (classes 0) or class indices in [0, classes).
struct Input {
  std::string name;
  std::string shape;
  int classes;
};

// x and x2 (N x 3 x 4 x 5), label (N; 3 classes: x's channels), a label
// per pixel (N x 1 x 4 x 5), pair and pair2 (N x 3 x 1 x 1) with a
// similarity per pair (2 classes: label), a sequence seq (3 timesteps x N
// streams x 4) and its cont (3 x N; 0 or 1), and h (1 x 1 x 3 x 3, no batch
// axis: an infogain matrix).
inline const std::vector<Input>& Inputs() {
  static const auto* inputs =
      new std::vector<Input>{{"x", "dim: N dim: 3 dim: 4 dim: 5", 0},
                             {"x2", "dim: N dim: 3 dim: 4 dim: 5", 0},
                             {"label", "dim: N", 2},
                             {"pixel_label", "dim: N dim: 1 dim: 4 dim: 5", 3},
                             {"pair", "dim: N dim: 3 dim: 1 dim: 1", 0},
                             {"pair2", "dim: N dim: 3 dim: 1 dim: 1", 0},
                             {"seq", "dim: 3 dim: N dim: 4", 0},
                             {"cont", "dim: 3 dim: N", 2},
                             {"h", "dim: 1 dim: 1 dim: 3 dim: 3", 0}};
  return *inputs;
}

// The bottoms a layer is tried with: the data alone, twice, with a label
// per item (Accuracy, the losses) or per pixel (a segmentation loss), with
// labels and an infogain matrix, or as pairs of vectors with a similarity
// per pair (ContrastiveLoss), or a sequence with its continuation flags.
inline const std::vector<std::vector<std::string>>& BottomSets() {
  static const auto* sets = new std::vector<std::vector<std::string>>{{"x"},
                                                                      {"x", "x2"},
                                                                      {"x", "label"},
                                                                      {"x", "pixel_label"},
                                                                      {"x", "pixel_label", "h"},
                                                                      {"pair", "pair2", "label"},
                                                                      {"seq", "cont"}};
  return *sets;
}

// `shape` with its N replaced by `num`.
inline std::string WithBatch(std::string shape, int num) {
  const size_t at = shape.find('N');
  if (at != std::string::npos) shape.replace(at, 1, std::to_string(num));
  return shape;
}

// Every registered type but the ones the tests themselves register.
inline std::vector<std::string> RegisteredTypes() {
  std::vector<std::string> types;
  for (const std::string& type : LayerRegistry<float>::LayerTypeList()) {
    if (type.find("Test") == std::string::npos) types.push_back(type);
  }
  return types;
}

}  // namespace layer_wiring
}  // namespace deepspark
