// Tests of the V0/V1/input/BatchNorm net upgrades and the solver upgrades
// (deepspark/upgrade_proto.hpp) on every prototxt of caffe-zoo and on the
// legacy fixtures in particular.
#include "deepspark/upgrade_proto.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/io.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

namespace fs = std::filesystem;

std::string Zoo(const std::string& rel) { return CaffeZooDir() + "/" + rel; }

// Checks that nothing deprecated is left in an upgraded net.
void ExpectV2(const caffe::NetParameter& net, const std::string& what) {
  EXPECT_EQ(net.layers_size(), 0) << what;
  EXPECT_EQ(net.input_size(), 0) << what;
  EXPECT_EQ(net.input_dim_size(), 0) << what;
  EXPECT_EQ(net.input_shape_size(), 0) << what;
  EXPECT_GT(net.layer_size(), 0) << what;
  for (const auto& l : net.layer()) {
    EXPECT_FALSE(l.type().empty()) << what << ": layer " << l.name();
  }
}

const caffe::LayerParameter* FindLayer(const caffe::NetParameter& net, const std::string& name) {
  for (const auto& l : net.layer()) {
    if (l.name() == name) return &l;
  }
  return nullptr;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no deepspark::Error thrown";
  return "";
}

TEST(UpgradeTest, EveryZooPrototxtUpgradesToV2) {
  int nets = 0, solvers = 0;
  for (const auto& entry : fs::recursive_directory_iterator(CaffeZooDir())) {
    if (!entry.is_regular_file() || entry.path().extension() != ".prototxt") continue;
    const std::string file = entry.path().string();
    SCOPED_TRACE(file);
    if (entry.path().filename().string().find("solver") != std::string::npos) {
      caffe::SolverParameter solver;
      ASSERT_NO_THROW(ReadSolverParamsFromTextFile(file, &solver));
      EXPECT_FALSE(solver.has_solver_type());
      EXPECT_FALSE(solver.type().empty());
      EXPECT_TRUE(solver.has_snapshot_prefix());
      if (solver.has_net_param()) ExpectV2(solver.net_param(), file);
      if (solver.has_train_net_param()) ExpectV2(solver.train_net_param(), file);
      for (const auto& t : solver.test_net_param()) ExpectV2(t, file);
      ++solvers;
    } else {
      caffe::NetParameter net;
      ASSERT_NO_THROW(ReadNetParamsFromTextFile(file, &net));
      ExpectV2(net, file);
      EXPECT_FALSE(NetNeedsUpgrade(net));
      ++nets;
    }
  }
  EXPECT_GE(nets, 45);
  EXPECT_GE(solvers, 25);
}

TEST(UpgradeTest, V0LenetTrain) {
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(Zoo("legacy/v0-lenet-2014-03/lenet_train.prototxt"), &net);
  ExpectV2(net, "v0 lenet");
  std::vector<std::string> types;
  for (const auto& l : net.layer()) types.push_back(l.type());
  EXPECT_EQ(types, (std::vector<std::string>{"Data", "Convolution", "Pooling", "Convolution",
                                             "Pooling", "InnerProduct", "ReLU", "InnerProduct",
                                             "SoftmaxWithLoss"}));
  const caffe::LayerParameter& data = net.layer(0);
  EXPECT_EQ(data.name(), "mnist");
  EXPECT_EQ(data.data_param().source(), "mnist-train-leveldb");
  EXPECT_EQ(data.data_param().batch_size(), 64u);
  EXPECT_FLOAT_EQ(data.transform_param().scale(), 0.00390625f);
  EXPECT_EQ(data.top_size(), 2);

  const caffe::LayerParameter* conv1 = FindLayer(net, "conv1");
  ASSERT_NE(conv1, nullptr);
  const auto& cp = conv1->convolution_param();
  EXPECT_EQ(cp.num_output(), 20u);
  ASSERT_EQ(cp.kernel_size_size(), 1);
  EXPECT_EQ(cp.kernel_size(0), 5u);
  ASSERT_EQ(cp.stride_size(), 1);
  EXPECT_EQ(cp.stride(0), 1u);
  EXPECT_EQ(cp.weight_filler().type(), "xavier");
  EXPECT_EQ(cp.bias_filler().type(), "constant");
  ASSERT_EQ(conv1->param_size(), 2);
  EXPECT_EQ(conv1->param(0).lr_mult(), 1.f);
  EXPECT_EQ(conv1->param(1).lr_mult(), 2.f);
  EXPECT_EQ(conv1->bottom(0), "data");

  const caffe::LayerParameter* pool1 = FindLayer(net, "pool1");
  ASSERT_NE(pool1, nullptr);
  EXPECT_EQ(pool1->pooling_param().pool(), caffe::PoolingParameter::MAX);
  EXPECT_EQ(pool1->pooling_param().kernel_size(), 2u);
  EXPECT_EQ(pool1->pooling_param().stride(), 2u);
  EXPECT_EQ(FindLayer(net, "ip1")->inner_product_param().num_output(), 500u);
}

TEST(UpgradeTest, V0PaddingLayersFoldIntoConv) {
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(Zoo("legacy/v0-padding-2014-03/pascal_finetune_val.prototxt"), &net);
  ExpectV2(net, "v0 padding");
  for (const auto& l : net.layer()) {
    EXPECT_NE(l.type(), "Padding");
    EXPECT_EQ(l.name().rfind("pad", 0), std::string::npos) << l.name();
  }
  const caffe::LayerParameter* conv2 = FindLayer(net, "conv2");
  ASSERT_NE(conv2, nullptr);
  ASSERT_EQ(conv2->convolution_param().pad_size(), 1);
  EXPECT_EQ(conv2->convolution_param().pad(0), 2u);
  EXPECT_EQ(conv2->convolution_param().group(), 2u);
  ASSERT_EQ(conv2->bottom_size(), 1);
  EXPECT_EQ(conv2->bottom(0), "norm1");  // the padding layer's input
  // The window data fields and the transformation fields moved too.
  const caffe::LayerParameter& data = net.layer(0);
  EXPECT_EQ(data.type(), "WindowData");
  EXPECT_EQ(data.window_data_param().context_pad(), 16u);
  EXPECT_EQ(data.window_data_param().batch_size(), 128u);
  EXPECT_EQ(data.transform_param().crop_size(), 227u);
  EXPECT_TRUE(data.transform_param().mirror());
}

TEST(UpgradeTest, V1CaffenetParamSpecs) {
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(
      Zoo("legacy/v1-2015-02/models_bvlc_reference_caffenet_train_val.prototxt"), &net);
  ExpectV2(net, "v1 caffenet");
  ASSERT_EQ(net.layer(0).include_size(), 1);
  EXPECT_EQ(net.layer(0).include(0).phase(), caffe::TRAIN);
  EXPECT_EQ(net.layer(0).data_param().backend(), caffe::DataParameter::LMDB);
  EXPECT_EQ(net.layer(0).transform_param().crop_size(), 227u);
  const caffe::LayerParameter* conv1 = FindLayer(net, "conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->type(), "Convolution");
  ASSERT_EQ(conv1->param_size(), 2);
  EXPECT_EQ(conv1->param(0).lr_mult(), 1.f);
  EXPECT_EQ(conv1->param(0).decay_mult(), 1.f);
  EXPECT_EQ(conv1->param(1).lr_mult(), 2.f);
  EXPECT_EQ(conv1->param(1).decay_mult(), 0.f);
  EXPECT_EQ(conv1->convolution_param().num_output(), 96u);
  const caffe::LayerParameter* loss = FindLayer(net, "loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->type(), "SoftmaxWithLoss");
}

TEST(UpgradeTest, V1SolverEnums) {
  const std::map<std::string, std::string> expected = {
      {"lenet_adadelta_solver.prototxt", "AdaDelta"},
      {"lenet_solver_adam.prototxt", "Adam"},
      {"lenet_solver_rmsprop.prototxt", "RMSProp"},
      {"mnist_autoencoder_solver_adadelta.prototxt", "AdaDelta"},
      {"mnist_autoencoder_solver_adagrad.prototxt", "AdaGrad"},
      {"mnist_autoencoder_solver_nesterov.prototxt", "Nesterov"},
  };
  for (const auto& [file, type] : expected) {
    caffe::SolverParameter solver;
    ReadSolverParamsFromTextFile(Zoo("legacy/v1-solver-enum/" + file), &solver);
    EXPECT_EQ(solver.type(), type) << file;
    EXPECT_FALSE(solver.has_solver_type()) << file;
  }
}

TEST(UpgradeTest, SolverWithBothTypesFails) {
  caffe::SolverParameter solver;
  ReadProtoFromTextString("solver_type: ADAM type: \"Adam\"", "both.prototxt", &solver);
  EXPECT_TRUE(SolverNeedsTypeUpgrade(solver));
  const std::string msg = ErrorOf([&] { UpgradeSolverAsNeeded("both.prototxt", &solver); });
  EXPECT_NE(msg.find("both.prototxt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("solver_type"), std::string::npos) << msg;
}

TEST(UpgradeTest, MtcnnInputLayer) {
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"det1", {1, 3, 12, 12}}, {"det2", {1, 3, 24, 24}},
      {"det3", {1, 3, 48, 48}}, {"det4", {1, 15, 24, 24}}};
  for (const auto& [name, dims] : shapes) {
    caffe::NetParameter net;
    ReadNetParamsFromTextFile(Zoo("mtcnn/" + name + ".prototxt"), &net);
    ExpectV2(net, name);
    const caffe::LayerParameter& in = net.layer(0);
    EXPECT_EQ(in.name(), "input");
    EXPECT_EQ(in.type(), "Input");
    ASSERT_EQ(in.top_size(), 1);
    EXPECT_EQ(in.top(0), "data");
    ASSERT_EQ(in.input_param().shape_size(), 1);
    std::vector<int64_t> got(in.input_param().shape(0).dim().begin(),
                             in.input_param().shape(0).dim().end());
    EXPECT_EQ(got, dims) << name;
    caffe::NetParameter raw;  // the order after it is kept
    ReadProtoFromTextFile(Zoo("mtcnn/" + name + ".prototxt"), &raw);
    ASSERT_EQ(net.layer_size(), raw.layer_size() + 1);
    EXPECT_EQ(net.layer(1).name(), raw.layer(0).name()) << name;
    EXPECT_EQ(net.layer(net.layer_size() - 1).name(), raw.layer(raw.layer_size() - 1).name());
  }
}

TEST(UpgradeTest, InputShapeAndBareInput) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "input: 'a' input_shape { dim: 2 dim: 3 } input: 'b' input_shape { dim: 4 }"
      " layer { name: 'r' type: 'ReLU' bottom: 'a' top: 'a' }",
      "shape.prototxt", &net);
  EXPECT_TRUE(UpgradeNetAsNeeded("shape.prototxt", &net));
  ExpectV2(net, "shape");
  ASSERT_EQ(net.layer_size(), 2);
  ASSERT_EQ(net.layer(0).top_size(), 2);
  EXPECT_EQ(net.layer(0).top(1), "b");
  EXPECT_EQ(net.layer(0).input_param().shape(0).dim_size(), 2);
  EXPECT_EQ(net.layer(0).input_param().shape(1).dim(0), 4);

  // A legacy caffemodel holds `input` alone: it is dropped, no layer added.
  caffe::NetParameter bare;
  ReadProtoFromTextString("input: 'data' layer { name: 'r' type: 'ReLU' }", "bare", &bare);
  UpgradeNetAsNeeded("bare", &bare);
  ASSERT_EQ(bare.layer_size(), 1);
  EXPECT_EQ(bare.layer(0).name(), "r");
  EXPECT_EQ(bare.input_size(), 0);

  caffe::NetParameter odd;
  ReadProtoFromTextString("input: 'data' input_dim: 1 input_dim: 2", "odd.prototxt", &odd);
  EXPECT_NE(ErrorOf([&] { UpgradeNetAsNeeded("odd.prototxt", &odd); }).find("odd.prototxt"),
            std::string::npos);
}

TEST(UpgradeTest, V1DataTransformFields) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "layers { name: 'd' type: DATA top: 'data' data_param { source: 's' scale: 0.5"
      " mean_file: 'm' crop_size: 7 mirror: true } }"
      "layers { name: 'i' type: IMAGE_DATA top: 'x' image_data_param { source: 'l' scale: 2 } }",
      "data.prototxt", &net);
  EXPECT_TRUE(NetNeedsUpgrade(net));
  UpgradeNetAsNeeded("data.prototxt", &net);
  ExpectV2(net, "data");
  const auto& d = net.layer(0);
  EXPECT_EQ(d.type(), "Data");
  EXPECT_FALSE(d.data_param().has_scale());
  EXPECT_FALSE(d.data_param().has_mean_file());
  EXPECT_FALSE(d.data_param().has_crop_size());
  EXPECT_FALSE(d.data_param().has_mirror());
  EXPECT_EQ(d.data_param().source(), "s");
  EXPECT_EQ(d.transform_param().scale(), 0.5f);
  EXPECT_EQ(d.transform_param().mean_file(), "m");
  EXPECT_EQ(d.transform_param().crop_size(), 7u);
  EXPECT_TRUE(d.transform_param().mirror());
  EXPECT_EQ(net.layer(1).type(), "ImageData");
  EXPECT_EQ(net.layer(1).transform_param().scale(), 2.f);
}

TEST(UpgradeTest, V1ParamNamesShareModeAndLossWeight) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "layers { name: 'ip' type: INNER_PRODUCT bottom: 'x' top: 'y' param: 'w' param: 'b'"
      " blob_share_mode: PERMISSIVE blobs_lr: 3 weight_decay: 0.5 weight_decay: 0"
      " inner_product_param { num_output: 4 } exclude { phase: TEST } }"
      "layers { name: 'l' type: EUCLIDEAN_LOSS bottom: 'y' bottom: 'x' top: 'loss'"
      " loss_weight: 0.25 }",
      "share.prototxt", &net);
  UpgradeNetAsNeeded("share.prototxt", &net);
  const auto& ip = net.layer(0);
  EXPECT_EQ(ip.type(), "InnerProduct");
  ASSERT_EQ(ip.param_size(), 2);
  EXPECT_EQ(ip.param(0).name(), "w");
  EXPECT_EQ(ip.param(0).share_mode(), caffe::ParamSpec::PERMISSIVE);
  EXPECT_EQ(ip.param(0).lr_mult(), 3.f);
  EXPECT_EQ(ip.param(0).decay_mult(), 0.5f);
  EXPECT_EQ(ip.param(1).name(), "b");
  EXPECT_FALSE(ip.param(1).has_lr_mult());
  EXPECT_EQ(ip.param(1).decay_mult(), 0.f);
  EXPECT_EQ(ip.inner_product_param().num_output(), 4u);
  EXPECT_EQ(ip.exclude(0).phase(), caffe::TEST);
  EXPECT_EQ(net.layer(1).type(), "EuclideanLoss");
  ASSERT_EQ(net.layer(1).loss_weight_size(), 1);
  EXPECT_EQ(net.layer(1).loss_weight(0), 0.25f);
}

TEST(UpgradeTest, LayerAndLayersTogetherFail) {
  caffe::NetParameter net;
  ReadProtoFromTextString("layer { name: 'a' type: 'ReLU' } layers { name: 'b' type: RELU }",
                          "mixed.prototxt", &net);
  const std::string msg = ErrorOf([&] { UpgradeNetAsNeeded("mixed.prototxt", &net); });
  EXPECT_NE(msg.find("mixed.prototxt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'layers'"), std::string::npos) << msg;
}

TEST(UpgradeTest, BatchNormParamSpecs) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "layer { name: 'bn' type: 'BatchNorm' param { lr_mult: 1 } param { lr_mult: 1 }"
      " param { lr_mult: 1 decay_mult: 5 } }"
      "layer { name: 'bn2' type: 'BatchNorm' param { lr_mult: 1 } }",
      "bn.prototxt", &net);
  EXPECT_TRUE(NetNeedsUpgrade(net));
  UpgradeNetAsNeeded("bn.prototxt", &net);
  for (const auto& p : net.layer(0).param()) {
    EXPECT_EQ(p.lr_mult(), 0.f);
    EXPECT_EQ(p.decay_mult(), 0.f);
  }
  EXPECT_EQ(net.layer(1).param(0).lr_mult(), 1.f);  // only 3-spec layers change
  EXPECT_FALSE(NetNeedsUpgrade(net));
}

TEST(UpgradeTest, LegacyV1BinarySnapshot) {
  caffe::NetParameter net;
  ReadNetParamsFromBinaryFile(Zoo("legacy-v1-lenet-2014/lenet_iter_10000"), &net);
  ExpectV2(net, "v1 binary");
  const caffe::LayerParameter* conv1 = FindLayer(net, "conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->type(), "Convolution");
  ASSERT_EQ(conv1->blobs_size(), 2);
  const caffe::BlobProto& w = conv1->blobs(0);
  EXPECT_FALSE(w.has_shape());
  EXPECT_EQ(w.num(), 20);
  EXPECT_EQ(w.channels(), 1);
  EXPECT_EQ(w.height(), 5);
  EXPECT_EQ(w.width(), 5);
  EXPECT_EQ(w.data_size(), 500);
  const caffe::LayerParameter* ip1 = FindLayer(net, "ip1");
  ASSERT_NE(ip1, nullptr);
  EXPECT_EQ(ip1->type(), "InnerProduct");
  EXPECT_EQ(ip1->blobs(0).num(), 1);
  EXPECT_EQ(ip1->blobs(0).channels(), 1);
  EXPECT_EQ(ip1->blobs(0).height(), 500);
  EXPECT_EQ(ip1->blobs(0).width(), 800);
  EXPECT_EQ(ip1->blobs(1).width(), 500);
}

TEST(UpgradeTest, SnapshotPrefix) {
  caffe::SolverParameter unset;
  UpgradeSnapshotPrefixProperty("models/x/lenet_solver.prototxt", &unset);
  EXPECT_EQ(unset.snapshot_prefix(), "models/x/lenet_solver");

  caffe::SolverParameter plain;
  plain.set_snapshot_prefix("examples/mnist/lenet");
  UpgradeSnapshotPrefixProperty("lenet_solver.prototxt", &plain);
  EXPECT_EQ(plain.snapshot_prefix(), "examples/mnist/lenet");

  const fs::path dir = fs::temp_directory_path() / ("deepspark_prefix_" + std::to_string(getpid()));
  fs::create_directories(dir);
  caffe::SolverParameter in_dir;
  in_dir.set_snapshot_prefix(dir.string());
  UpgradeSnapshotPrefixProperty("a/b/lenet_solver.prototxt", &in_dir);
  EXPECT_EQ(in_dir.snapshot_prefix(), (dir / "lenet_solver").string());
  fs::remove_all(dir);
}

TEST(UpgradeTest, UnknownV0TypeFails) {
  caffe::NetParameter net;
  ReadProtoFromTextString("layers { layer { name: 'q' type: 'quux' } }", "v0.prototxt", &net);
  const std::string msg = ErrorOf([&] { UpgradeNetAsNeeded("v0.prototxt", &net); });
  EXPECT_NE(msg.find("quux"), std::string::npos) << msg;
}

TEST(UpgradeTest, V0PaddingIntoNonConvFails) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "input: 'x' input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4"
      " layers { layer { name: 'p' type: 'padding' pad: 1 } bottom: 'x' top: 'px' }"
      " layers { layer { name: 'r' type: 'relu' } bottom: 'px' top: 'y' }",
      "pad.prototxt", &net);
  const std::string msg = ErrorOf([&] { UpgradeNetAsNeeded("pad.prototxt", &net); });
  EXPECT_NE(msg.find("pad.prototxt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"p\""), std::string::npos) << msg;
}

TEST(UpgradeTest, V0PaddingIntoPoolAndInputKept) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "input: 'x' input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4"
      " layers { layer { name: 'p' type: 'padding' pad: 3 } bottom: 'x' top: 'px' }"
      " layers { layer { name: 'q' type: 'pool' pool: AVE kernelsize: 2 } bottom: 'px'"
      " top: 'y' }",
      "pool.prototxt", &net);
  UpgradeNetAsNeeded("pool.prototxt", &net);
  ExpectV2(net, "pool");
  ASSERT_EQ(net.layer_size(), 2);
  EXPECT_EQ(net.layer(0).type(), "Input");
  EXPECT_EQ(net.layer(1).type(), "Pooling");
  EXPECT_EQ(net.layer(1).bottom(0), "x");
  EXPECT_EQ(net.layer(1).pooling_param().pad(), 3u);
  EXPECT_EQ(net.layer(1).pooling_param().pool(), caffe::PoolingParameter::AVE);
}

}  // namespace
}  // namespace deepspark
