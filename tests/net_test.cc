// Net construction: filtering, Split insertion, in-place layers, weight
// sharing, backward pruning, loss weights, weights loading and its errors.
#include "deepspark/net.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <climits>
#include <cmath>
#include <fstream>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "data_test_util.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/rng.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

caffe::NetParameter ParseNet(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "test net", &param);
  return param;
}

// Input -> ip1 -> relu (in place) -> ip2 -> loss, with data also feeding a
// second branch that no loss depends on.
const char kBranchyNet[] = R"(
name: "branchy"
force_backward: false
layer { name: "input" type: "Input" top: "data" top: "target"
  input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1"
  inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.5 }
                        bias_filler { type: "constant" value: 0.1 } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip2" bottom: "target" top: "loss" }
layer { name: "side" type: "InnerProduct" bottom: "data" top: "side"
  inner_product_param { num_output: 3 } }
)";

template <typename Dtype>
class NetTest : public ::testing::Test {
 protected:
  // The gaussian fillers draw from the process's generator: without a seed
  // one draw in a few hundred put an ip1 output within h of ReLU's kink,
  // where central differences do not measure the gradient.
  NetTest() { SetRandomSeed(1701); }
  void FillInputs(Net<Dtype>* net) {
    for (Blob<Dtype>* blob : net->input_blobs()) {
      for (int i = 0; i < blob->count(); ++i) {
        blob->mutable_cpu_data()[i] = std::sin(0.7 * i + blob->count());
      }
    }
  }
};
TYPED_TEST_SUITE(NetTest, TestDtypes);

TYPED_TEST(NetTest, InsertsSplitsWithCaffeNames) {
  Net<TypeParam> net(ParseNet(kBranchyNet));
  ASSERT_TRUE(net.has_layer("data_input_0_split"));
  EXPECT_TRUE(net.has_blob("data_input_0_split_0"));
  EXPECT_TRUE(net.has_blob("data_input_0_split_1"));
  // Outputs are the unconsumed blobs, in name order.
  ASSERT_EQ(net.num_outputs(), 2);
  EXPECT_EQ(net.blob_names()[net.output_blob_indices()[0]], "loss");
  EXPECT_EQ(net.blob_names()[net.output_blob_indices()[1]], "side");
  EXPECT_EQ(net.num_inputs(), 2);
}

TYPED_TEST(NetTest, PrunesBackwardWhereNoLossDepends) {
  Net<TypeParam> net(ParseNet(kBranchyNet));
  const auto& names = net.layer_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "side" || names[i] == "input") {
      EXPECT_FALSE(net.layer_need_backward()[i]) << names[i];
    }
    if (names[i] == "ip1" || names[i] == "ip2" || names[i] == "loss") {
      EXPECT_TRUE(net.layer_need_backward()[i]) << names[i];
    }
  }
  caffe::NetParameter forced = ParseNet(kBranchyNet);
  forced.set_force_backward(true);
  Net<TypeParam> forced_net(forced);
  for (size_t i = 0; i < forced_net.layer_names().size(); ++i) {
    EXPECT_TRUE(forced_net.layer_need_backward()[i]) << forced_net.layer_names()[i];
  }
}

TYPED_TEST(NetTest, LossAndGradientMatchNumeric) {
  Net<TypeParam> net(ParseNet(kBranchyNet));
  this->FillInputs(&net);
  TypeParam loss = 0;
  net.Forward(&loss);
  EXPECT_GT(loss, 0);
  net.ClearParamDiffs();
  net.Backward();
  // d loss / d w for one weight of ip1, by central differences.
  Blob<TypeParam>* w = net.layer_by_name("ip1")->blobs()[0].get();
  const TypeParam analytic = w->cpu_diff()[3];
  const TypeParam h = sizeof(TypeParam) == 4 ? 1e-2 : 1e-4;
  w->mutable_cpu_data()[3] += h;
  TypeParam plus = 0;
  net.Forward(&plus);
  w->mutable_cpu_data()[3] -= 2 * h;
  TypeParam minus = 0;
  net.Forward(&minus);
  EXPECT_NEAR(analytic, (plus - minus) / (2 * h), sizeof(TypeParam) == 4 ? 2e-3 : 1e-6);
}

TYPED_TEST(NetTest, FiltersByPhaseStageAndLevel) {
  const char text[] = R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "train_only" type: "ReLU" bottom: "x" top: "a" include { phase: TRAIN } }
layer { name: "test_only" type: "ReLU" bottom: "x" top: "b" include { phase: TEST } }
layer { name: "staged" type: "ReLU" bottom: "x" top: "c" include { stage: "deploy" } }
layer { name: "not_deploy" type: "ReLU" bottom: "x" top: "d" exclude { stage: "deploy" } }
layer { name: "leveled" type: "ReLU" bottom: "x" top: "e" include { min_level: 2 } }
)";
  caffe::NetParameter param = ParseNet(text);
  param.mutable_state()->set_phase(caffe::TRAIN);
  Net<TypeParam> train(param);
  EXPECT_TRUE(train.has_layer("train_only"));
  EXPECT_FALSE(train.has_layer("test_only"));
  EXPECT_FALSE(train.has_layer("staged"));
  EXPECT_TRUE(train.has_layer("not_deploy"));
  EXPECT_FALSE(train.has_layer("leveled"));
  param.mutable_state()->set_phase(caffe::TEST);
  param.mutable_state()->add_stage("deploy");
  param.mutable_state()->set_level(3);
  Net<TypeParam> test(param);
  EXPECT_FALSE(test.has_layer("train_only"));
  EXPECT_TRUE(test.has_layer("test_only"));
  EXPECT_TRUE(test.has_layer("staged"));
  EXPECT_FALSE(test.has_layer("not_deploy"));
  EXPECT_TRUE(test.has_layer("leveled"));
  // The phase is inherited by layers and saved.
  caffe::NetParameter saved;
  test.ToProto(&saved);
  for (const auto& layer : saved.layer()) EXPECT_EQ(layer.phase(), caffe::TEST);
}

TYPED_TEST(NetTest, SharesWeightsByParamName) {
  const char text[] = R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "InnerProduct" bottom: "x" top: "ya" param { name: "shared_w" lr_mult: 2 }
  inner_product_param { num_output: 3 bias_term: false weight_filler { type: "gaussian" } } }
layer { name: "b" type: "InnerProduct" bottom: "ya" top: "yb" param { name: "shared_w" }
  inner_product_param { num_output: 3 bias_term: false } }
)";
  Net<TypeParam> net(ParseNet(text));
  ASSERT_EQ(net.params().size(), 2u);
  ASSERT_EQ(net.learnable_params().size(), 1u);
  EXPECT_EQ(net.params()[0]->cpu_data(), net.params()[1]->cpu_data());
  EXPECT_EQ(net.params()[0]->cpu_diff(), net.params()[1]->cpu_diff());
  EXPECT_EQ(net.params_lr()[0], 2.f);
  EXPECT_EQ(net.param_owners()[1], 0);
}

TYPED_TEST(NetTest, LrMultZeroStopsParamGradient) {
  const char text[] = R"(
layer { name: "in" type: "Input" top: "x" top: "t" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "InnerProduct" bottom: "x" top: "y" param { lr_mult: 0 } param { lr_mult: 0 }
  inner_product_param { num_output: 3 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "l" }
)";
  Net<TypeParam> net(ParseNet(text));
  auto layer = net.layer_by_name("a");
  EXPECT_FALSE(layer->param_propagate_down(0));
  EXPECT_FALSE(layer->param_propagate_down(1));
  EXPECT_FALSE(net.layer_need_backward()[1]);
}

TYPED_TEST(NetTest, UnknownTypeListsKnownTypes) {
  const char text[] = R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "weird" type: "NoSuchLayer" bottom: "x" top: "y" }
)";
  try {
    Net<TypeParam> net(ParseNet(text));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("weird"), std::string::npos) << what;
    EXPECT_NE(what.find("NoSuchLayer"), std::string::npos) << what;
    EXPECT_NE(what.find("InnerProduct"), std::string::npos) << what;
    EXPECT_NE(what.find("Convolution"), std::string::npos) << what;
  }
}

TYPED_TEST(NetTest, UnknownBottomAndDuplicateTopAreErrors) {
  try {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "r" type: "ReLU" bottom: "nope" top: "y" } )"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'r'"), std::string::npos) << e.what();
  }
  try {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "r1" type: "ReLU" bottom: "x" top: "y" }
layer { name: "r2" type: "ReLU" bottom: "x" top: "y" } )"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than one layer"), std::string::npos) << e.what();
  }
}

TYPED_TEST(NetTest, BadShapesNameTheLayer) {
  try {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "in" type: "Input" top: "x" top: "t" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 4 } } }
layer { name: "myloss" type: "EuclideanLoss" bottom: "x" bottom: "t" top: "l" } )"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("myloss"), std::string::npos) << e.what();
  }
}

TYPED_TEST(NetTest, SaveAndCopyTrainedLayers) {
  Net<TypeParam> net(ParseNet(kBranchyNet));
  this->FillInputs(&net);
  TypeParam loss = 0;
  net.Forward(&loss);
  caffe::NetParameter saved;
  net.ToProto(&saved);
  // Split layers are saved, with their names, like Caffe's caffemodels.
  bool has_split = false;
  for (const auto& layer : saved.layer()) has_split |= layer.type() == "Split";
  EXPECT_TRUE(has_split);
  Net<TypeParam> other(ParseNet(kBranchyNet));
  other.CopyTrainedLayersFrom(saved);
  this->FillInputs(&other);
  TypeParam other_loss = 0;
  other.Forward(&other_loss);
  EXPECT_EQ(loss, other_loss);

  // A layer of the wrong shape is refused with its name and both shapes.
  caffe::NetParameter wrong = saved;
  for (auto& layer : *wrong.mutable_layer()) {
    if (layer.name() == "ip2") layer.mutable_blobs(0)->mutable_shape()->set_dim(0, 7);
  }
  try {
    other.CopyTrainedLayersFrom(wrong);
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ip2"), std::string::npos) << what;
    EXPECT_NE(what.find("shape mismatch"), std::string::npos) << what;
  }
  // A missing weights file names the file.
  EXPECT_THROW(other.CopyTrainedLayersFrom(std::string("/nonexistent/x.caffemodel")), Error);

  // Weights of which nothing lands in the net (an empty file, another net's
  // layers) are refused; a file matching some layers (fine-tuning) is not.
  TempDir dir;
  auto error_of = [&other](const std::string& file) {
    try {
      other.CopyTrainedLayersFrom(file);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  { std::ofstream(dir / "empty.caffemodel"); }
  EXPECT_NE(error_of(dir / "empty.caffemodel").find("no layer of the weights file matches"),
            std::string::npos);
  caffe::NetParameter renamed = saved;
  for (auto& layer : *renamed.mutable_layer()) layer.set_name("other_" + layer.name());
  WriteProtoToBinaryFile(renamed, dir / "renamed.caffemodel");
  const std::string what = error_of(dir / "renamed.caffemodel");
  EXPECT_NE(what.find("no layer of the weights file matches"), std::string::npos) << what;
  EXPECT_NE(what.find("ip1"), std::string::npos) << what;  // the net's layers are named
  caffe::NetParameter partial = saved;
  for (auto& layer : *partial.mutable_layer()) {
    if (layer.name() == "ip2") layer.set_name("not_ip2");
  }
  WriteProtoToBinaryFile(partial, dir / "partial.caffemodel");
  EXPECT_EQ(error_of(dir / "partial.caffemodel"), "");
  // A flipped bit that made a NaN is refused, naming the layer.
  caffe::NetParameter flipped = saved;
  for (auto& layer : *flipped.mutable_layer()) {
    if (layer.name() != "ip1") continue;
    caffe::BlobProto* blob = layer.mutable_blobs(0);
    if (blob->data_size() > 2) {
      blob->set_data(2, std::nanf(""));
    } else {
      ASSERT_GT(blob->double_data_size(), 2);
      blob->set_double_data(2, std::nan(""));
    }
  }
  WriteProtoToBinaryFile(flipped, dir / "flipped.caffemodel");
  const std::string nan_error = error_of(dir / "flipped.caffemodel");
  EXPECT_NE(nan_error.find("'ip1'"), std::string::npos) << nan_error;
  EXPECT_NE(nan_error.find("non-finite"), std::string::npos) << nan_error;
}

// A shape of 2^40 values (4 TiB of floats) is refused while the net is
// built, naming the layer and the shape; nothing is allocated.
TYPED_TEST(NetTest, HugeShapeIsAnErrorNamingTheLayer) {
  try {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "huge" type: "Input" top: "x"
  input_param { shape { dim: 1024 dim: 1024 dim: 1024 dim: 1024 } } } )"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer 'huge'"), std::string::npos) << what;
    EXPECT_NE(what.find("1024 1024 1024 1024"), std::string::npos) << what;
  }
}

// Blobs that each fit in a blob but together need more memory than the
// machine has were allocated one by one at the first forward, which ended
// in "Out of host memory" and an abort (or the kernel killing the process).
// They are refused while the net is built, naming the layer and the blob.
TYPED_TEST(NetTest, BlobsLargerThanTheMachineAreAnError) {
  const uint64_t blob_bytes = uint64_t(INT_MAX) * sizeof(TypeParam);
  const uint64_t tops = HostMemoryLimit() / blob_bytes + 2;
  if (tops > 1000) GTEST_SKIP() << "this machine's memory is too large to exceed";
  std::string text = R"(layer { name: "big" type: "Input" )";
  for (uint64_t i = 0; i < tops; ++i) text += "top: \"x" + std::to_string(i) + "\" ";
  text += "input_param { shape { dim: " + std::to_string(INT_MAX) + " } } }";
  try {
    Net<TypeParam> net(ParseNet(text));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer 'big'"), std::string::npos) << what;
    EXPECT_NE(what.find("top 'x"), std::string::npos) << what;
    EXPECT_NE(what.find("this process can have"), std::string::npos) << what;
  }
}

// A host allocation that fails (here under ulimit -v) is a deepspark::Error
// naming the layer that asked for it; it was a LOG(FATAL) abort.
TYPED_TEST(NetTest, FailedAllocationIsAnErrorNamingTheLayer) {
  const std::string what = ErrorInChild([] {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 256 dim: 1048576 } } }
layer { name: "double_it" type: "Power" bottom: "x" top: "y" power_param { scale: 2 } } )"));
    // Leave 256 MiB of address space: the blobs need 2 GiB (floats) or 4.
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    {
      std::ifstream statm("/proc/self/statm");
      statm >> pages;
    }
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(pages) * page + (256 << 20);
    REQUIRE(setrlimit(RLIMIT_AS, &limit) == 0) << "setrlimit";
    net.Forward();
  });
  EXPECT_NE(what.find("out of host memory"), std::string::npos) << what;
  EXPECT_NE(what.find("layer 'double_it'"), std::string::npos) << what;
}

// Throws from Forward what the layer's name says: oneDNN's dnnl::error or
// std::bad_alloc, as a oneDNN primitive or a std::vector sized by the input
// can.
template <typename Dtype>
class NetTestThrowsLayer : public Layer<Dtype> {
 public:
  explicit NetTestThrowsLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  const char* type() const override { return "NetTestThrows"; }
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {
    if (this->layer_param().name() == "dnnl") {
      throw dnnl::error(dnnl_out_of_memory, "could not create a memory object");
    }
    throw std::bad_alloc();
  }
  void Backward_cpu(const std::vector<Blob<Dtype>*>&, const std::vector<bool>&,
                    const std::vector<Blob<Dtype>*>&) override {}
};
REGISTER_LAYER_CLASS(NetTestThrows);

// What escaped a layer other than a deepspark::Error (dnnl::error,
// bad_alloc) ended the tools with an abort: it is a deepspark::Error naming
// the layer.
TYPED_TEST(NetTest, LayerExceptionsBecomeErrorsNamingTheLayer) {
  for (const std::string name : {"dnnl", "vector"}) {
    Net<TypeParam> net(ParseNet(R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 } } }
layer { name: ")" + name + R"(" type: "NetTestThrows" bottom: "x" top: "y" } )"));
    try {
      net.Forward();
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("layer '" + name + "' (type NetTestThrows)"), std::string::npos) << what;
      EXPECT_NE(what.find(name == "dnnl" ? "oneDNN is out of memory" : "out of host memory"),
                std::string::npos)
          << what;
    }
  }
}

}  // namespace
}  // namespace deepspark
