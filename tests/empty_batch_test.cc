// A batch of 0 (an empty last batch, a Filter that kept nothing) through
// every registered layer that takes bottoms (the data, with a second blob,
// labels, an infogain matrix, or pairs): forward and backward either work,
// giving tops of batch 0 (a loss or an accuracy of 0), or throw a
// deepspark::Error naming the layer. Never a CHECK abort or a crash:
// InnerProduct aborted on a CHECK in Blob; BatchNorm, Accuracy and the
// softmax, infogain, hinge and multinomial losses divided by the batch
// (SIGFPE); the Euclidean and contrastive losses gave 0 / 0 = NaN; Reshape
// {0, -1} could not infer its -1. Each layer runs in a child process, so a
// crash fails its test with the signal instead of ending the test binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/net.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "layer_wiring.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

// Inputs (layer_wiring::Inputs(), of batch `num`, all 0) -> the layer under
// test, with backward forced through it.
std::string NetText(const std::string& type, int num, const std::vector<std::string>& bottoms,
                    int tops, caffe::Phase phase) {
  std::string text = "name: \"empty_batch\" force_backward: true state { phase: ";
  text += phase == caffe::TRAIN ? "TRAIN" : "TEST";
  text += " }\n";
  std::string tops_text, shapes, unused;
  for (const auto& input : layer_wiring::Inputs()) {
    tops_text += "top: \"" + input.name + "\" ";
    shapes += "shape { " + layer_wiring::WithBatch(input.shape, num) + " } ";
    if (std::find(bottoms.begin(), bottoms.end(), input.name) == bottoms.end()) {
      unused += "bottom: \"" + input.name + "\" ";
    }
  }
  text += "layer { name: \"in\" type: \"Input\" " + tops_text + "input_param { " + shapes + "} }\n";
  auto it = layer_wiring::ParamsFor().find(type);
  text += "layer { name: \"under_test\" type: \"" + type + "\" ";
  for (const std::string& bottom : bottoms) text += "bottom: \"" + bottom + "\" ";
  for (int i = 0; i < tops; ++i) text += "top: \"y" + std::to_string(i) + "\" ";
  text += (it == layer_wiring::ParamsFor().end() ? std::string() : it->second) + " }\n";
  // The inputs the layer does not read.
  text += "layer { name: \"rest\" type: \"Silence\" " + unused + "}\n";
  return text;
}

caffe::NetParameter Parse(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "empty batch net", &param);
  return param;
}

// How a type is wired here: its bottoms and its number of tops.
struct Wiring {
  std::vector<std::string> bottoms;
  int tops = 0;
};

// The first wiring with which the type sets up on a batch of 2 (tops: 1, or
// 0 for Silence); none (false) for the types that take no bottom (the data
// layers) or need parameters this test does not give.
template <typename Dtype>
bool FindWiring(const std::string& type, Wiring* wiring) {
  for (const auto& bottoms : layer_wiring::BottomSets()) {
    for (int tops : {1, 0}) {
      try {
        Net<Dtype> net(Parse(NetText(type, 2, bottoms, tops, caffe::TRAIN)));
        *wiring = Wiring{bottoms, tops};
        return true;
      } catch (const Error&) {
      }
    }
  }
  return false;
}

// Runs forward and backward on a batch of 0; throws deepspark::Error, or
// Error("wrong: ...") when forward ran but a top is not of batch 0 (or a
// loss not 0). Backward may refuse with an Error for the layers that have
// none (Accuracy, Threshold): backward is forced through every layer here.
template <typename Dtype>
void RunEmptyBatch(const std::string& type, const Wiring& wiring, caffe::Phase phase) {
  Net<Dtype> net(Parse(NetText(type, 0, wiring.bottoms, wiring.tops, phase)));
  net.Forward();
  const auto& names = net.layer_names();
  const size_t id = std::find(names.begin(), names.end(), "under_test") - names.begin();
  // Losses and Accuracy give one value for the whole batch: 0, not the NaN
  // of 0 / 0 (which training would take for divergence). Reduction over its
  // default axis 0 gives one value too.
  if (net.layers()[id]->loss(0) != 0 || type == "Accuracy") {
    const Dtype value = net.top_vecs()[id][0]->cpu_data()[0];
    REQUIRE(value == 0) << "wrong: " << value << " from a batch of 0";
  } else if (type != "Reduction") {
    // A sequence's batch is its streams: axis 1 (T x N x ...).
    const int batch_axis = wiring.bottoms[0] == "seq" ? 1 : 0;
    for (Blob<Dtype>* top : net.top_vecs()[id]) {
      REQUIRE(top->num_axes() > batch_axis && top->shape(batch_axis) == 0 && top->count() == 0)
          << "wrong: top of shape " << top->shape_string() << " from a batch of 0";
    }
  }
  net.Backward();
}

class EmptyBatchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmptyBatchTest, ForwardAndBackwardWorkOrNameTheLayer) {
  const std::string type = GetParam();
  Wiring wiring;
  if (!FindWiring<float>(type, &wiring)) GTEST_SKIP() << type << " takes no bottom";
  for (caffe::Phase phase : {caffe::TRAIN, caffe::TEST}) {
    for (bool use_double : {false, true}) {
      const std::string what = ErrorInChild([&] {
        if (use_double) {
          RunEmptyBatch<double>(type, wiring, phase);
        } else {
          RunEmptyBatch<float>(type, wiring, phase);
        }
        THROW_ERROR() << "ran";  // the child reports success as this error
      });
      SCOPED_TRACE(type + (phase == caffe::TRAIN ? " TRAIN " : " TEST ") +
                   (use_double ? "double" : "float"));
      EXPECT_EQ(what.find("wrong:"), std::string::npos) << what;
      if (what != "ran") {
        EXPECT_NE(what.find("layer 'under_test' (type " + type + ")"), std::string::npos) << what;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, EmptyBatchTest,
                         ::testing::ValuesIn(layer_wiring::RegisteredTypes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace deepspark
