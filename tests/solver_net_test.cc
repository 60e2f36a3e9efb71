// Solver with a real (tiny) Net: training loop, iter_size accumulation,
// testing, callbacks, stop/snapshot requests, snapshot files and resuming.
// Skipped while the layers they use (DummyData, InnerProduct, EuclideanLoss)
// are not built in.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/sgd_solvers.hpp"
#include "deepspark/solver_factory.hpp"
#include "test_util.hpp"

namespace deepspark {

namespace {
// Linear regression: 4 samples of 3 inputs -> 2 outputs, Euclidean loss.
// `filler` fills data and target (gaussian: redrawn every forward).
std::string TinyNet(const std::string& filler) {
  return R"(name: "tiny"
layer { name: "data" type: "DummyData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
    data_filler { )" + filler + R"( } data_filler { )" + filler + R"( } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "out"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 }
    bias_filler { type: "constant" value: 0.1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "target" top: "loss" }
)";
}

bool LayersAvailable() {
  for (const char* type : {"DummyData", "InnerProduct", "EuclideanLoss"}) {
    if (!LayerRegistry<float>::Has(type)) return false;
  }
  return true;
}

std::string MakeTempDir() {
  char dir[] = "/tmp/ds_solver_net_XXXXXX";
  CHECK(mkdtemp(dir) != nullptr);
  return dir;
}
}  // namespace

template <typename Dtype>
class SolverNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!LayersAvailable()) GTEST_SKIP() << "DummyData/InnerProduct/EuclideanLoss not built in";
    dir_ = MakeTempDir();
    CHECK(google::protobuf::TextFormat::ParseFromString(
        TinyNet(R"(type: "gaussian" std: 1)"), param_.mutable_net_param()));
    param_.set_base_lr(0.05f);
    param_.set_lr_policy("fixed");
    param_.set_momentum(0.9f);
    param_.set_max_iter(6);
    param_.set_random_seed(1701);
    param_.set_snapshot_prefix(dir_ + "/tiny");
    param_.set_snapshot_after_train(false);
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::vector<Dtype> Weights(Solver<Dtype>* solver) {
    std::vector<Dtype> values;
    for (Blob<Dtype>* blob : solver->net()->learnable_params()) {
      values.insert(values.end(), blob->cpu_data(), blob->cpu_data() + blob->count());
    }
    return values;
  }
  void ExpectNear(const std::vector<Dtype>& a, const std::vector<Dtype>& b, double tol) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "value " << i;
  }

  std::string dir_;
  caffe::SolverParameter param_;
};
TYPED_TEST_SUITE(SolverNetTest, TestDtypes);

TYPED_TEST(SolverNetTest, LossDecreasesOnAFixedBatch) {
  caffe::NetParameter* net = this->param_.mutable_net_param();
  CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "constant" value: 0.5)"),
                                                      net));
  this->param_.set_average_loss(1);
  auto solver = CreateSolver<TypeParam>(this->param_);
  solver->Step(1);
  const TypeParam first = solver->smoothed_loss();
  solver->Step(20);
  EXPECT_EQ(solver->iter(), 21);
  EXPECT_LT(solver->smoothed_loss(), first * 0.5);
}

TYPED_TEST(SolverNetTest, ResumedRunMatchesUninterruptedRun) {
  for (const char* type : {"SGD", "Adam"}) {
    this->param_.set_type(type);
    this->param_.set_snapshot(3);
    auto full = CreateSolver<TypeParam>(this->param_);
    full->Solve();
    EXPECT_EQ(full->iter(), 6);
    const std::string state = this->dir_ + "/tiny_iter_3.solverstate";
    ASSERT_TRUE(FileExists(state)) << type;
    ASSERT_TRUE(FileExists(this->dir_ + "/tiny_iter_3.caffemodel"));
    ASSERT_TRUE(FileExists(this->dir_ + "/tiny_iter_6.caffemodel"));

    auto resumed = CreateSolver<TypeParam>(this->param_);
    resumed->Solve(state);
    EXPECT_EQ(resumed->iter(), 6);
    this->ExpectNear(this->Weights(resumed.get()), this->Weights(full.get()), 1e-5);

    // The snapshot holds the weights and the state the iteration count.
    caffe::NetParameter model;
    ReadProtoFromBinaryFile(this->dir_ + "/tiny_iter_3.caffemodel", &model);
    bool found = false;
    for (const auto& layer : model.layer()) {
      if (layer.name() == "ip") found = layer.blobs_size() == 2;
    }
    EXPECT_TRUE(found);
    caffe::SolverState solver_state;
    ReadProtoFromBinaryFile(state, &solver_state);
    EXPECT_EQ(solver_state.iter(), 3);
    EXPECT_EQ(solver_state.learned_net(), this->dir_ + "/tiny_iter_3.caffemodel");
    EXPECT_EQ(solver_state.history_size(), std::string(type) == "Adam" ? 4 : 2);
  }
}

TYPED_TEST(SolverNetTest, RestoreFindsTheModelBesideTheState) {
  this->param_.set_snapshot(3);
  this->param_.set_max_iter(3);
  CreateSolver<TypeParam>(this->param_)->Solve();
  const std::string moved = MakeTempDir();
  ASSERT_EQ(std::system(("mv '" + this->dir_ + "'/tiny_iter_3.* '" + moved + "'").c_str()), 0);
  auto solver = CreateSolver<TypeParam>(this->param_);
  solver->Restore(moved + "/tiny_iter_3.solverstate");
  EXPECT_EQ(solver->iter(), 3);
  std::remove((moved + "/tiny_iter_3.caffemodel").c_str());
  auto again = CreateSolver<TypeParam>(this->param_);
  try {
    again->Restore(moved + "/tiny_iter_3.solverstate");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny_iter_3.caffemodel"), std::string::npos) << e.what();
  }
  EXPECT_EQ(again->iter(), 0);  // unchanged by the failed restore
  std::system(("rm -rf '" + moved + "'").c_str());
  // History from another solver type does not fit.
  this->param_.set_type("AdaDelta");
  this->param_.set_momentum(0.95f);
  CreateSolver<TypeParam>(this->param_)->Snapshot();
  this->param_.set_type("SGD");
  EXPECT_THROW(CreateSolver<TypeParam>(this->param_)->Restore(this->dir_ +
                                                              "/tiny_iter_0.solverstate"),
               Error);
}

TYPED_TEST(SolverNetTest, IterSizeAccumulatesAndNormalizes) {
  // A constant batch: two accumulated passes, halved, equal one pass.
  CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "constant" value: 0.5)"),
                                                      this->param_.mutable_net_param()));
  auto one = CreateSolver<TypeParam>(this->param_);
  one->Step(3);
  this->param_.set_iter_size(2);
  auto two = CreateSolver<TypeParam>(this->param_);
  two->Step(3);
  this->ExpectNear(this->Weights(two.get()), this->Weights(one.get()), 1e-6);
}

TYPED_TEST(SolverNetTest, TestNetsShareTheTrainWeights) {
  CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "constant" value: 0.5)"),
                                                      this->param_.mutable_net_param()));
  this->param_.add_test_iter(2);
  this->param_.set_test_interval(2);
  auto solver = CreateSolver<TypeParam>(this->param_);
  ASSERT_EQ(solver->test_nets().size(), 1u);
  EXPECT_EQ(solver->test_nets()[0]->phase(), caffe::TEST);
  EXPECT_EQ(solver->net()->phase(), caffe::TRAIN);
  solver->Step(3);
  std::vector<TestScore> scores = solver->TestAll();
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(scores[0].name, "loss");
  EXPECT_EQ(scores[0].loss_weight, 1.0);
  TypeParam train_loss = 0;
  solver->net()->Forward(&train_loss);
  EXPECT_NEAR(scores[0].value, train_loss, 1e-5);
}

TYPED_TEST(SolverNetTest, CallbacksAndRequests) {
  struct Counter : Solver<TypeParam>::Callback {
    int starts = 0, ready = 0, ends = 0, last_iter = -1;
    void on_start() override { ++starts; }
    void on_gradients_ready() override { ++ready; }
    void on_iteration_end(int iter) override {
      ++ends;
      last_iter = iter;
    }
  } counter;
  this->param_.set_snapshot_after_train(true);
  auto solver = CreateSolver<TypeParam>(this->param_);
  solver->add_callback(&counter);
  // SNAPSHOT after the 2nd update, STOP after the 4th.
  solver->SetActionFunction([&]() {
    if (solver->iter() == 2) return SolverAction::SNAPSHOT;
    if (solver->iter() == 4) return SolverAction::STOP;
    return SolverAction::NONE;
  });
  solver->Solve();
  EXPECT_EQ(solver->iter(), 4);
  EXPECT_EQ(counter.starts, 4);
  EXPECT_EQ(counter.ready, 4);
  EXPECT_EQ(counter.ends, 4);
  EXPECT_EQ(counter.last_iter, 4);
  EXPECT_TRUE(FileExists(this->dir_ + "/tiny_iter_2.solverstate"));
  EXPECT_TRUE(FileExists(this->dir_ + "/tiny_iter_4.solverstate"));  // snapshot_after_train
  EXPECT_TRUE(solver->requested_early_exit());
}

TYPED_TEST(SolverNetTest, TrainNetFieldsAndHdf5) {
  caffe::SolverParameter none = this->param_;
  none.clear_net_param();
  EXPECT_THROW(CreateSolver<TypeParam>(none), Error);
  caffe::SolverParameter two = this->param_;
  *two.mutable_train_net_param() = two.net_param();
  EXPECT_THROW(CreateSolver<TypeParam>(two), Error);
  caffe::SolverParameter no_interval = this->param_;
  no_interval.add_test_iter(1);
  EXPECT_THROW(CreateSolver<TypeParam>(no_interval), Error);
  caffe::SolverParameter hdf5 = this->param_;
  hdf5.set_snapshot_format(caffe::SolverParameter::HDF5);
  EXPECT_THROW(CreateSolver<TypeParam>(hdf5)->Snapshot(), Error);
}

}  // namespace deepspark
