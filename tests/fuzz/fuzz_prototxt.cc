// Fuzz target: the prototxt text parser and the upgraders, as `train`,
// `test` and `time` run them on a net or solver file (first byte: which),
// then the net's phase filter and split insertion.
#include "deepspark/common.hpp"
#include "deepspark/insert_splits.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/upgrade_proto.hpp"
#include "fuzz_util.hpp"

using namespace deepspark;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text = fuzz::AsString(data + 1, size - 1);
  try {
    if (data[0] & 1) {
      caffe::SolverParameter solver;
      ReadProtoFromTextString(text, "fuzz_solver.prototxt", &solver);
      UpgradeSolverAsNeeded("fuzz_solver.prototxt", &solver);
    } else {
      caffe::NetParameter net;
      ReadProtoFromTextString(text, "fuzz_net.prototxt", &net);
      UpgradeNetAsNeeded("fuzz_net.prototxt", &net);
      caffe::NetParameter filtered, split;
      Net<float>::FilterNet(net, &filtered);
      InsertSplits(filtered, &split);
    }
  } catch (const Error&) {
  }
  return 0;
}
