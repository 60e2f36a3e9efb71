// With a fixed random_seed and thread count, a run snapshotted halfway and
// resumed ends with the same weights, bit for bit, as the run that went
// through in one go: on both engines and with 2 threads (the split gradient
// sums must repeat). Caffe's LeNet on the first 100 MNIST test digits
// (caffe-zoo/trained), as a real LMDB with shuffling data layers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "deepspark/engine.hpp"
#include "deepspark/io.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/solver_factory.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {
namespace fs = std::filesystem;

caffe::SolverParameter LenetSolver(const fs::path& dir, int max_iter) {
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_solver.prototxt",
                               &param);
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt", &net);
  for (auto& layer : *net.mutable_layer()) {
    if (layer.type() != "Data") continue;
    layer.mutable_data_param()->set_source(CaffeZooDir() + "/trained/mnist_test_first100_lmdb");
    layer.mutable_data_param()->set_batch_size(16);
  }
  param.clear_net();
  *param.mutable_net_param() = net;
  param.set_max_iter(max_iter);
  param.set_test_interval(1000);
  param.set_test_initialization(false);
  param.set_display(0);
  param.set_snapshot(0);
  param.set_snapshot_after_train(true);
  param.set_snapshot_prefix((dir / "lenet").string());
  param.set_random_seed(1701);
  return param;
}

std::vector<float> Weights(const Solver<float>& solver) {
  std::vector<float> w;
  for (const Blob<float>* p : solver.learnable_params()) {
    w.insert(w.end(), p->cpu_data(), p->cpu_data() + p->count());
  }
  return w;
}

class ResumeExactTest : public ::testing::TestWithParam<ComputeEngine> {};

TEST_P(ResumeExactTest, ResumedRunEndsBitIdentical) {
  const ComputeEngine saved_engine = DefaultEngine();
  const int saved_threads = MaxThreads();
  SetDefaultEngine(GetParam());
  SetNumThreads(2);
  const fs::path dir =
      fs::temp_directory_path() /
      ("ds_resume_" + std::string(EngineName(GetParam())) + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "full");
  fs::create_directories(dir / "part");

  auto full = CreateSolver<float>(LenetSolver(dir / "full", 40));
  full->Solve();
  auto first_half = CreateSolver<float>(LenetSolver(dir / "part", 20));
  first_half->Solve();
  auto second_half = CreateSolver<float>(LenetSolver(dir / "part", 40));
  second_half->Restore((dir / "part" / "lenet_iter_20.solverstate").string());
  ASSERT_EQ(second_half->iter(), 20);
  second_half->Step(20);
  const std::vector<float> a = Weights(*full), b = Weights(*second_half);
  ASSERT_EQ(a.size(), b.size());
  size_t differing = 0;
  for (size_t i = 0; i < a.size(); ++i) differing += a[i] != b[i];
  EXPECT_EQ(differing, 0u) << "of " << a.size() << " weights";
  fs::remove_all(dir);
  SetDefaultEngine(saved_engine);
  SetNumThreads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(Engines, ResumeExactTest,
                         ::testing::Values(ComputeEngine::kCaffe, ComputeEngine::kDnnl),
                         [](const ::testing::TestParamInfo<ComputeEngine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace deepspark
