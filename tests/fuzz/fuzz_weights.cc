// Fuzz target: binary NetParameter (.caffemodel, V0/V1/current) and
// SolverState (.solverstate) loading, as `test --weights` and `train
// --snapshot` do: parse, upgrade, copy into a built LeNet, restore an SGD
// solver's history (first byte: which).
#include <memory>

#include "deepspark/common.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/solver_factory.hpp"
#include "deepspark/upgrade_proto.hpp"
#include "fuzz_util.hpp"

using namespace deepspark;

namespace {
// Caffe's LeNet (examples/mnist), deploy form: the zoo's LeNet weights and
// solver states are the seeds, so their shapes match and mutations go deep.
const char* kLeNet = R"(
  name: "LeNet"
  layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 28 dim: 28 } } }
  layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
          convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
  layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
          pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
  layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
          convolution_param { num_output: 50 kernel_size: 5 weight_filler { type: "xavier" } } }
  layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
          pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
  layer { name: "ip1" type: "InnerProduct" bottom: "pool2" top: "ip1"
          inner_product_param { num_output: 500 weight_filler { type: "xavier" } } }
  layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
  layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
          inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
)";

caffe::NetParameter LeNetParam() {
  caffe::NetParameter param;
  ReadProtoFromTextString(kLeNet, "lenet", &param);
  return param;
}

Solver<float>& TheSolver() {
  static std::unique_ptr<Solver<float>> solver = [] {
    caffe::SolverParameter param;
    *param.mutable_net_param() = LeNetParam();
    param.set_base_lr(0.01f);
    param.set_lr_policy("fixed");
    param.set_max_iter(1);
    param.set_momentum(0.9f);
    return CreateSolver<float>(param);
  }();
  return *solver;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Net<float> net(LeNetParam());
  try {
    if (data[0] & 1) {
      const std::string path = fuzz::ScratchDir() + "/fuzz.solverstate";
      fuzz::WriteFile(path, data + 1, size - 1);
      TheSolver().Restore(path);
    } else {
      caffe::NetParameter weights;
      if (!weights.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
      UpgradeNetAsNeeded("fuzz.caffemodel", &weights);
      net.CopyTrainedLayersFrom(weights);
    }
  } catch (const Error&) {
  }
  return 0;
}
