// Acceptance numbers of caffe-zoo/trained/README.md: Caffe's own LeNet snapshot scored on
// the first 100 MNIST test digits gives accuracy 1 and loss 0.0202191.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/tools.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

namespace fs = std::filesystem;

// A fresh temp folder, removed when the test ends.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("ds_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Scores weights_file with Caffe's lenet_train_test.prototxt (TEST phase) over iters
// batches of 100 read from source; returns mean accuracy and loss like `caffe test`.
void ScoreLenet(const std::string& source, const std::string& backend,
                const std::string& weights_file, int iters, double* accuracy, double* loss) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt",
                            &param);
  for (auto& layer : *param.mutable_layer()) {
    if (layer.type() == "Data") {
      layer.mutable_data_param()->set_source(source);
      layer.mutable_data_param()->set_batch_size(100);
      layer.mutable_data_param()->set_backend(backend == "leveldb" ? caffe::DataParameter::LEVELDB
                                                                   : caffe::DataParameter::LMDB);
    }
  }
  param.mutable_state()->set_phase(caffe::TEST);
  Net<float> net(param);
  net.CopyTrainedLayersFrom(weights_file);
  double acc = 0, l = 0;
  for (int i = 0; i < iters; ++i) {
    net.Forward();
    acc += net.blob_by_name("accuracy")->cpu_data()[0];
    l += net.blob_by_name("loss")->cpu_data()[0];
  }
  *accuracy = acc / iters;
  *loss = l / iters;
}

TEST(TrainedModelsTest, LenetIter1000OnFirst100Digits) {
  const std::string zoo = CaffeZooDir();
  // CI sees the fixtures read-only; LMDB wants to write its lock file.
  TempDir tmp("trained100");
  fs::copy(zoo + "/trained/mnist_test_first100_lmdb", tmp.path / "lmdb",
           fs::copy_options::recursive);
  double accuracy = 0, loss = 0;
  ScoreLenet((tmp.path / "lmdb").string(), "lmdb", zoo + "/trained/lenet_iter_1000.caffemodel", 1,
             &accuracy, &loss);
  EXPECT_DOUBLE_EQ(accuracy, 1.0);
  EXPECT_NEAR(loss, 0.0202191, 1e-6);
}

TEST(TrainedModelsTest, LenetIter1000OnAllTestDigits) {
  TempDir tmp("trained10k");
  const std::string mnist = SharedDir() + "/datasets/mnist/";
  ASSERT_EQ(ConvertMnist(mnist + "t10k-images-idx3-ubyte.gz", mnist + "t10k-labels-idx1-ubyte.gz",
                         (tmp.path / "lmdb").string()),
            10000);
  double accuracy = 0, loss = 0;
  ScoreLenet((tmp.path / "lmdb").string(), "lmdb",
             CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel", 100, &accuracy, &loss);
  EXPECT_NEAR(accuracy, 0.9828, 1e-6);
  EXPECT_NEAR(loss, 0.0565858, 1e-6);
}

// Late-2014 V1 binary snapshots (no .caffemodel extension) scored on the V1 LevelDB.
TEST(TrainedModelsTest, LegacyV1SnapshotsOnLevelDb) {
  const std::string dir = CaffeZooDir() + "/legacy-v1-lenet-2014";
  TempDir tmp("trainedv1");
  fs::copy(dir + "/mnist-test-leveldb", tmp.path / "leveldb", fs::copy_options::recursive);
  for (const char* snapshot : {"lenet_iter_5000", "lenet_iter_10000"}) {
    SCOPED_TRACE(snapshot);
    double accuracy = 0, loss = 0;
    ScoreLenet((tmp.path / "leveldb").string(), "leveldb", dir + "/" + snapshot, 100, &accuracy,
               &loss);
    EXPECT_GT(accuracy, 0.98);
    EXPECT_LT(loss, 0.1);
  }
}

// A .caffemodel written here for lenet_train_test (TRAIN phase, as a solver
// snapshot writes it) has Caffe's layout: the same layers (names, types,
// bottoms, tops, phase, loss_weight) and parameter blobs (order and shapes)
// as the one real Caffe wrote, so Caffe loads it for the same prototxt.
TEST(TrainedModelsTest, WrittenCaffemodelHasCaffesLayout) {
  TempDir dir("layout");
  const fs::path lmdb = dir.path / "first100_lmdb";
  fs::copy(CaffeZooDir() + "/trained/mnist_test_first100_lmdb", lmdb);
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt",
                            &param);
  for (auto& layer : *param.mutable_layer()) {
    if (layer.type() == "Data") layer.mutable_data_param()->set_source(lmdb.string());
  }
  param.mutable_state()->set_phase(caffe::TRAIN);
  Net<float> net(param);
  const std::string ours_file = (dir.path / "ours.caffemodel").string();
  caffe::NetParameter written;
  net.ToProto(&written);
  WriteProtoToBinaryFile(written, ours_file);
  caffe::NetParameter ours, theirs;
  ReadProtoFromBinaryFile(ours_file, &ours);
  ReadProtoFromBinaryFile(CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel", &theirs);
  ASSERT_EQ(ours.layer_size(), theirs.layer_size());
  EXPECT_EQ(ours.name(), theirs.name());
  for (int i = 0; i < ours.layer_size(); ++i) {
    const auto& a = ours.layer(i);
    const auto& b = theirs.layer(i);
    EXPECT_EQ(a.name(), b.name());
    EXPECT_EQ(a.type(), b.type());
    EXPECT_EQ(a.phase(), b.phase()) << a.name();
    EXPECT_EQ(a.loss_weight_size(), b.loss_weight_size()) << a.name();
    ASSERT_EQ(a.bottom_size(), b.bottom_size()) << a.name();
    for (int j = 0; j < a.bottom_size(); ++j) EXPECT_EQ(a.bottom(j), b.bottom(j));
    ASSERT_EQ(a.top_size(), b.top_size()) << a.name();
    for (int j = 0; j < a.top_size(); ++j) EXPECT_EQ(a.top(j), b.top(j));
    ASSERT_EQ(a.blobs_size(), b.blobs_size()) << a.name();
    for (int j = 0; j < a.blobs_size(); ++j) {
      EXPECT_EQ(a.blobs(j).shape().DebugString(), b.blobs(j).shape().DebugString()) << a.name();
      EXPECT_EQ(a.blobs(j).data_size(), b.blobs(j).data_size()) << a.name();
    }
  }
  // And Caffe's weights load into the net we wrote ours from.
  net.CopyTrainedLayersFrom(CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel");
}

}  // namespace
}  // namespace deepspark
