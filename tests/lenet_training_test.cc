// A short LeNet training on the real MNIST, with Caffe's stock solver and
// net (only paths, max_iter and the test schedule changed): the loss falls
// and the test accuracy after 300 iterations is well above chance.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "deepspark/io.hpp"
#include "deepspark/solver_factory.hpp"
#include "deepspark/tools.hpp"
#include "gpu_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {
namespace fs = std::filesystem;

// 300 iterations of Caffe's LeNet on MNIST in the calling thread's compute
// mode: the loss falls and the test accuracy is above 0.93.
void ShortTrainingLearns() {
  const fs::path dir = fs::temp_directory_path() / ("ds_lenet_train_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string mnist = SharedDir() + "/datasets/mnist/";
  const std::string train_db = (dir / "train_lmdb").string();
  const std::string test_db = (dir / "test_lmdb").string();
  ASSERT_EQ(ConvertMnist(mnist + "train-images-idx3-ubyte.gz", mnist + "train-labels-idx1-ubyte.gz",
                         train_db),
            60000);
  ASSERT_EQ(ConvertMnist(mnist + "t10k-images-idx3-ubyte.gz", mnist + "t10k-labels-idx1-ubyte.gz",
                         test_db),
            10000);
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_solver.prototxt", &param);
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt", &net);
  for (auto& layer : *net.mutable_layer()) {
    if (layer.type() != "Data") continue;
    const bool train = layer.include_size() && layer.include(0).phase() == caffe::TRAIN;
    layer.mutable_data_param()->set_source(train ? train_db : test_db);
  }
  param.clear_net();
  *param.mutable_net_param() = net;
  param.set_max_iter(300);
  param.set_test_interval(300);
  param.clear_test_iter();
  param.add_test_iter(20);  // 2,000 test images
  param.set_test_initialization(false);
  param.set_snapshot(0);
  param.set_snapshot_after_train(false);
  param.set_display(100);
  param.set_random_seed(1701);
  std::unique_ptr<Solver<float>> solver = CreateSolver<float>(param);
  solver->Step(20);
  const float early_loss = solver->smoothed_loss();
  solver->Step(280);
  EXPECT_EQ(solver->iter(), 300);
  EXPECT_LT(solver->smoothed_loss(), early_loss);
  double accuracy = -1;
  for (const TestScore& score : solver->TestAll()) {
    if (score.name == "accuracy") accuracy = score.value;
  }
  EXPECT_GT(accuracy, 0.93);
  fs::remove_all(dir);
}

TEST(LenetTrainingTest, ShortTrainingOnRealMnistLearns) { ShortTrainingLearns(); }

// The same on the GPU path (SKIPPED without a GPU; scripts/gpu-check.sh).
TEST(GpuLenetTrainingTest, ShortTrainingOnRealMnistLearns) {
  REQUIRE_GPU_OR_SKIP();
  // The GPU machine gets the tests without the datasets when they do not fit
  // its transfer (scripts/gpu-check.sh); the CPU test above needs them.
  if (!fs::exists(SharedDir() + "/datasets/mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "no MNIST under " << SharedDir() << " (DEEPSPARK_SHARED_DIR)";
  }
  ComputeModeScope gpu(ComputeMode::kGpu);
  ShortTrainingLearns();
}

}  // namespace
}  // namespace deepspark
