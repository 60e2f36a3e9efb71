// Which implementation a layer computes with, as Caffe's `engine` field
// (CAFFE | CUDNN) chooses per layer:
//   kCaffe: Caffe's own CPU code (im2col + BLAS GEMM, plain loops): the
//           reference path, and the only one for double.
//   kDnnl:  oneDNN primitives (convolution, inner product, pooling, LRN,
//           ReLU, softmax) for float, where oneDNN supports the shape and
//           Caffe's numerics; each layer falls back to kCaffe where not.
// A layer whose prototxt says `engine: CAFFE` or `engine: DNNL` uses that;
// `engine: DEFAULT` (and layers without the field) use the process default:
// kDnnl unless SetDefaultEngine (the tools' --engine flag) or the environment
// variable DEEPSPARK_ENGINE=caffe|dnnl says otherwise.
//
// Thread safety: set the default before nets are built; reading it is safe
// from any thread.
#pragma once

#include <string>

namespace deepspark {

enum class ComputeEngine { kCaffe, kDnnl };

void SetDefaultEngine(ComputeEngine engine);
ComputeEngine DefaultEngine();
// "caffe" or "dnnl" (case-insensitive); throws deepspark::Error otherwise.
ComputeEngine ParseEngine(const std::string& name);
const char* EngineName(ComputeEngine engine);

// The engine for a layer whose prototxt `engine` field holds field_value
// (the Engine enum's number: DEFAULT 0, CAFFE 1, CUDNN 2, DNNL 3). CUDNN
// means the GPU, which a CPU run does not have: the default is used.
ComputeEngine ResolveEngine(int field_value);

}  // namespace deepspark
