// Solver with a real (tiny) Net: training loop, iter_size accumulation,
// testing, callbacks, stop/snapshot requests, snapshot files and resuming.
// The net is made of three small layers defined here (data, linear, squared
// loss), so these tests depend only on Net, not on the real layer library.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "deepspark/filler.hpp"
#include "deepspark/hdf5_snapshot.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/sgd_solvers.hpp"
#include "deepspark/solver_factory.hpp"
#include "test_util.hpp"

namespace deepspark {

// Test layers. SolverTestData: one top per dummy_data_param shape, refilled
// by its data_filler at every forward (gaussian fillers draw from the
// thread's generator, so resumed runs test SeedThreadRng).
template <typename Dtype>
class SolverTestDataLayer : public Layer<Dtype> {
 public:
  explicit SolverTestDataLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  const char* type() const override { return "SolverTestData"; }
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    for (size_t i = 0; i < top.size(); ++i) {
      top[i]->Reshape(this->layer_param_.dummy_data_param().shape(i));
    }
  }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {
    for (size_t i = 0; i < top.size(); ++i) {
      GetFiller<Dtype>(this->layer_param_.dummy_data_param().data_filler(i))->Fill(top[i]);
    }
  }
  void Backward_cpu(const std::vector<Blob<Dtype>*>&, const std::vector<bool>&,
                    const std::vector<Blob<Dtype>*>&) override {}
};

// SolverTestLinear: y = x W^T + b (x: N x K, W: M x K, b: M).
template <typename Dtype>
class SolverTestLinearLayer : public Layer<Dtype> {
 public:
  explicit SolverTestLinearLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  const char* type() const override { return "SolverTestLinear"; }
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override {
    if (!this->blobs_.empty()) return;
    const caffe::InnerProductParameter& p = this->layer_param_.inner_product_param();
    const int m = p.num_output(), k = bottom[0]->count(1);
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>(std::vector<int>{m, k}));
    this->blobs_.push_back(std::make_shared<Blob<Dtype>>(std::vector<int>{m}));
    GetFiller<Dtype>(p.weight_filler())->Fill(this->blobs_[0].get());
    GetFiller<Dtype>(p.bias_filler())->Fill(this->blobs_[1].get());
  }
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    top[0]->Reshape(std::vector<int>{bottom[0]->shape(0), this->blobs_[0]->shape(0)});
  }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {
    const int n = bottom[0]->shape(0), k = bottom[0]->count(1), m = this->blobs_[0]->shape(0);
    const Dtype* x = bottom[0]->cpu_data();
    const Dtype* w = this->blobs_[0]->cpu_data();
    const Dtype* b = this->blobs_[1]->cpu_data();
    Dtype* y = top[0]->mutable_cpu_data();
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < m; ++j) {
        Dtype sum = b[j];
        for (int l = 0; l < k; ++l) sum += x[i * k + l] * w[j * k + l];
        y[i * m + j] = sum;
      }
    }
  }
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {
    const int n = bottom[0]->shape(0), k = bottom[0]->count(1), m = this->blobs_[0]->shape(0);
    const Dtype* x = bottom[0]->cpu_data();
    const Dtype* dy = top[0]->cpu_diff();
    Dtype* dw = this->blobs_[0]->mutable_cpu_diff();
    Dtype* db = this->blobs_[1]->mutable_cpu_diff();
    // Accumulates into the parameter diffs, as every layer must (iter_size).
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < m; ++j) {
        db[j] += dy[i * m + j];
        for (int l = 0; l < k; ++l) dw[j * k + l] += dy[i * m + j] * x[i * k + l];
      }
    }
  }
};

// SolverTestSquareLoss: sum((a - b)^2) / (2 N), loss_weight 1 by default.
template <typename Dtype>
class SolverTestSquareLossLayer : public Layer<Dtype> {
 public:
  explicit SolverTestSquareLossLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  const char* type() const override { return "SolverTestSquareLoss"; }
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override {
    if (this->layer_param_.loss_weight_size() == 0) this->layer_param_.add_loss_weight(1);
  }
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {
    top[0]->Reshape(std::vector<int>{});
  }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override {
    Dtype sum = 0;
    for (int i = 0; i < bottom[0]->count(); ++i) {
      const Dtype d = bottom[0]->cpu_data()[i] - bottom[1]->cpu_data()[i];
      sum += d * d;
    }
    top[0]->mutable_cpu_data()[0] = sum / (2 * bottom[0]->shape(0));
  }
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {
    if (!propagate_down[0]) return;
    const Dtype scale = top[0]->cpu_diff()[0] / bottom[0]->shape(0);
    for (int i = 0; i < bottom[0]->count(); ++i) {
      bottom[0]->mutable_cpu_diff()[i] =
          scale * (bottom[0]->cpu_data()[i] - bottom[1]->cpu_data()[i]);
    }
  }
};

REGISTER_LAYER_CLASS(SolverTestData);
REGISTER_LAYER_CLASS(SolverTestLinear);
REGISTER_LAYER_CLASS(SolverTestSquareLoss);

namespace {
// Linear regression: 4 samples of 3 inputs -> 2 outputs, Euclidean loss.
// `filler` fills data and target (gaussian: redrawn every forward).
std::string TinyNet(const std::string& filler) {
  return R"(name: "tiny"
layer { name: "data" type: "SolverTestData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
    data_filler { )" +
         filler + R"( } data_filler { )" + filler + R"( } } }
layer { name: "ip" type: "SolverTestLinear" bottom: "data" top: "out"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 }
    bias_filler { type: "constant" value: 0.1 } } }
layer { name: "loss" type: "SolverTestSquareLoss" bottom: "out" bottom: "target" top: "loss" }
)";
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
    dir_ = MakeTempDir();
    CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "gaussian" std: 1)"),
                                                        param_.mutable_net_param()));
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

// snapshot_format: HDF5 writes .caffemodel.h5 and .solverstate.h5 (only),
// a resume from them matches the uninterrupted run, and the net's loader
// reads the weights by content.
TYPED_TEST(SolverNetTest, Hdf5SnapshotsResumeAsBinaryOnes) {
  for (const char* type : {"SGD", "Adam"}) {
    this->param_.set_type(type);
    this->param_.set_snapshot(3);
    this->param_.set_snapshot_format(caffe::SolverParameter::HDF5);
    auto full = CreateSolver<TypeParam>(this->param_);
    full->Solve();
    const std::string state = this->dir_ + "/tiny_iter_3.solverstate.h5";
    const std::string model = this->dir_ + "/tiny_iter_3.caffemodel.h5";
    ASSERT_TRUE(FileExists(state)) << type;
    ASSERT_TRUE(FileExists(model));
    EXPECT_FALSE(FileExists(this->dir_ + "/tiny_iter_3.solverstate"));
    EXPECT_FALSE(FileExists(this->dir_ + "/tiny_iter_3.caffemodel"));

    auto resumed = CreateSolver<TypeParam>(this->param_);
    resumed->Solve(state);
    EXPECT_EQ(resumed->iter(), 6);
    this->ExpectNear(this->Weights(resumed.get()), this->Weights(full.get()), 1e-5);

    caffe::SolverState solver_state;
    ReadSolverStateFromHDF5File(state, &solver_state);
    EXPECT_EQ(solver_state.iter(), 3);
    EXPECT_EQ(solver_state.learned_net(), model);
    EXPECT_EQ(solver_state.history_size(), std::string(type) == "Adam" ? 4 : 2);
    caffe::NetParameter weights;
    ReadNetParamsFromHDF5File(model, &weights);
    ASSERT_EQ(weights.layer_size(), 3);  // every layer, by name
    EXPECT_EQ(weights.layer(0).name(), "data");
    EXPECT_EQ(weights.layer(0).blobs_size(), 0);
    EXPECT_EQ(weights.layer(1).name(), "ip");
    ASSERT_EQ(weights.layer(1).blobs_size(), 2);
    EXPECT_EQ(BlobProtoShape(weights.layer(1).blobs(0)), (std::vector<int>{2, 3}));
    EXPECT_EQ(sizeof(TypeParam) == 8, weights.layer(1).blobs(0).double_data_size() == 6);

    this->param_.set_random_seed(99);  // other initial weights
    auto loaded = CreateSolver<TypeParam>(this->param_);
    loaded->net()->CopyTrainedLayersFrom(this->dir_ + "/tiny_iter_6.caffemodel.h5");
    this->ExpectNear(this->Weights(loaded.get()), this->Weights(full.get()), 0);
    this->param_.set_random_seed(1701);
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
  EXPECT_THROW(
      CreateSolver<TypeParam>(this->param_)->Restore(this->dir_ + "/tiny_iter_0.solverstate"),
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
  // An output only test nets in stage "more" have (test_state of net #1).
  caffe::LayerParameter* extra = this->param_.mutable_net_param()->add_layer();
  CHECK(google::protobuf::TextFormat::ParseFromString(
      R"(name: "extra" type: "SolverTestData" top: "extra" include { phase: TEST stage: "more" }
         dummy_data_param { shape { dim: 1 } data_filler { type: "constant" value: 0.25 } })",
      extra));
  this->param_.add_test_iter(2);
  this->param_.add_test_iter(1);
  this->param_.add_test_state();
  this->param_.add_test_state()->add_stage("more");
  this->param_.set_test_interval(2);
  auto solver = CreateSolver<TypeParam>(this->param_);
  ASSERT_EQ(solver->test_nets().size(), 2u);
  EXPECT_EQ(solver->net()->num_outputs(), 1);
  EXPECT_EQ(solver->test_nets()[0]->num_outputs(), 1);
  EXPECT_EQ(solver->test_nets()[1]->num_outputs(), 2);
  EXPECT_EQ(solver->test_nets()[0]->phase(), caffe::TEST);
  EXPECT_EQ(solver->net()->phase(), caffe::TRAIN);
  solver->Step(3);
  std::vector<TestScore> scores = solver->TestAll();
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_EQ(scores[0].name, "loss");
  EXPECT_EQ(scores[0].loss_weight, 1.0);
  EXPECT_EQ(scores[1].net_id, 1);
  EXPECT_EQ(scores[2].net_id, 1);
  EXPECT_EQ(scores[2].output_id, 1);
  TypeParam train_loss = 0;
  solver->net()->Forward(&train_loss);
  // The test nets see the trained weights (and the same constant batch).
  EXPECT_NEAR(scores[0].value, train_loss, 1e-5);
  for (int i : {1, 2}) {  // net #1's outputs come in blob-name order
    const TestScore& score = scores[i];
    if (score.name == "loss") {
      EXPECT_NEAR(score.value, train_loss, 1e-5);
      EXPECT_EQ(score.loss_weight, 1.0);
    } else {
      EXPECT_EQ(score.name, "extra");
      EXPECT_NEAR(score.value, 0.25, 1e-7);
      EXPECT_EQ(score.loss_weight, 0.0);
    }
  }
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

TYPED_TEST(SolverNetTest, TrainNetFields) {
  caffe::SolverParameter none = this->param_;
  none.clear_net_param();
  EXPECT_THROW(CreateSolver<TypeParam>(none), Error);
  caffe::SolverParameter two = this->param_;
  *two.mutable_train_net_param() = two.net_param();
  EXPECT_THROW(CreateSolver<TypeParam>(two), Error);
  caffe::SolverParameter no_interval = this->param_;
  no_interval.add_test_iter(1);
  EXPECT_THROW(CreateSolver<TypeParam>(no_interval), Error);
}

TYPED_TEST(SolverNetTest, LogLinesInCaffeFormat) {
  CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "constant" value: 0.5)"),
                                                      this->param_.mutable_net_param()));
  this->param_.set_display(2);
  this->param_.add_test_iter(1);
  this->param_.set_test_interval(2);
  this->param_.set_max_iter(2);
  this->param_.set_test_initialization(false);
  auto solver = CreateSolver<TypeParam>(this->param_);
  ::testing::internal::CaptureStderr();
  solver->Solve();
  const std::string log = ::testing::internal::GetCapturedStderr();
  if (std::getenv("SHOW_LOG")) std::fputs(log.c_str(), stdout);
  for (const char* line :
       {"Solving tiny", "Iteration 0 (", " iter/s, ", "s/2 iters), loss = ",
        "    Train net output #0: loss = ", " (* 1 = ", " loss)", "Iteration 0, lr = 0.05",
        "Iteration 2, loss = ", "Iteration 2, Testing net (#0)", "Trained 0 of 2 iterations (0.0%)",
        "    Test net output #0: loss = ", "Optimization Done."}) {
    EXPECT_NE(log.find(line), std::string::npos) << "missing '" << line << "' in\n" << log;
  }
  EXPECT_EQ(log.find("Iteration 0, Testing net"), std::string::npos);  // no test_initialization
}

TYPED_TEST(SolverNetTest, WeightsFieldLoadsAModel) {
  auto trained = CreateSolver<TypeParam>(this->param_);
  trained->Step(2);
  trained->Snapshot();
  this->param_.set_random_seed(99);  // different initial weights
  this->param_.add_weights(this->dir_ + "/tiny_iter_2.caffemodel");
  this->param_.add_test_iter(1);
  this->param_.set_test_interval(10);
  auto finetuned = CreateSolver<TypeParam>(this->param_);
  this->ExpectNear(this->Weights(finetuned.get()), this->Weights(trained.get()), 0);
  EXPECT_EQ(finetuned->iter(), 0);
  const Blob<TypeParam>* test_w = finetuned->test_nets()[0]->learnable_params()[0];
  EXPECT_EQ(test_w->cpu_data()[0], trained->net()->learnable_params()[0]->cpu_data()[0]);
}

// A huge learning rate makes the loss overflow a few iterations in. Training
// stops there with an error naming the iteration and the last snapshot
// left; no snapshot of the weights that gave the bad loss remains (snapshot
// N, written after update N and before the loss of its weights was known, is
// removed), and the snapshot named holds finite weights.
TYPED_TEST(SolverNetTest, DivergedLossStopsAndKeepsTheLastGoodSnapshot) {
  CHECK(google::protobuf::TextFormat::ParseFromString(TinyNet(R"(type: "constant" value: 0.5)"),
                                                      this->param_.mutable_net_param()));
  this->param_.set_base_lr(1e4f);
  this->param_.set_max_iter(1000);
  this->param_.set_snapshot(1);
  auto solver = CreateSolver<TypeParam>(this->param_);
  std::string message;
  try {
    solver->Solve();
    FAIL() << "training did not stop";
  } catch (const Error& e) {
    message = e.what();
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m,
                                std::regex("loss is (NaN|inf) at iteration ([0-9]+): training "
                                           "diverged")))
      << message;
  const int diverged = std::stoi(m[2]);
  ASSERT_GE(diverged, 2) << message;
  EXPECT_EQ(solver->iter(), diverged);
  const std::string prefix = this->dir_ + "/tiny_iter_";
  EXPECT_FALSE(FileExists(prefix + std::to_string(diverged) + ".caffemodel"));
  EXPECT_FALSE(FileExists(prefix + std::to_string(diverged) + ".solverstate"));
  const std::string last = prefix + std::to_string(diverged - 1) + ".solverstate";
  EXPECT_NE(message.find("the last snapshot written is " + last), std::string::npos) << message;
  ASSERT_TRUE(FileExists(last));
  caffe::NetParameter model;
  ReadProtoFromBinaryFile(prefix + std::to_string(diverged - 1) + ".caffemodel", &model);
  for (const auto& layer : model.layer()) {
    for (const auto& blob : layer.blobs()) {
      for (float v : blob.data()) EXPECT_TRUE(std::isfinite(v)) << layer.name();
      for (double v : blob.double_data()) EXPECT_TRUE(std::isfinite(v)) << layer.name();
    }
  }
  // Without snapshots: said so.
  this->param_.set_snapshot(0);
  try {
    CreateSolver<TypeParam>(this->param_)->Solve();
    FAIL() << "training did not stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no snapshot was written"), std::string::npos) << e.what();
  }
}

// Weights holding a NaN are never written as a snapshot.
TYPED_TEST(SolverNetTest, NonFiniteWeightsAreNotSnapshotted) {
  auto solver = CreateSolver<TypeParam>(this->param_);
  solver->Step(2);
  solver->net()->learnable_params()[1]->mutable_cpu_data()[1] = std::nan("");
  try {
    solver->Snapshot();
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("a weight is NaN (layer 'ip', param 1) at iteration 2"), std::string::npos)
        << what;
  }
  EXPECT_FALSE(FileExists(this->dir_ + "/tiny_iter_2.caffemodel"));
  EXPECT_FALSE(FileExists(this->dir_ + "/tiny_iter_2.solverstate"));
}

// `deepspark train` on a diverging net: exit status 1 and the message.
TEST(TrainToolTest, DivergedTrainingExitsWithAnError) {
  const std::string dir = MakeTempDir();
  {
    std::ofstream net(dir + "/net.prototxt");
    net << R"(name: "diverge"
layer { name: "data" type: "DummyData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
    data_filler { type: "constant" value: 0.5 } data_filler { type: "constant" value: 1 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "out"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "target" top: "loss" }
)";
    std::ofstream solver(dir + "/solver.prototxt");
    solver << "net: \"" << dir << "/net.prototxt\"\n"
           << "base_lr: 10000 lr_policy: \"fixed\" max_iter: 1000 display: 0\n"
           << "snapshot: 1 snapshot_prefix: \"" << dir << "/diverge\" random_seed: 1\n";
  }
  const std::string log = dir + "/train.log";
  const int status = std::system(("'" + ToolPath() + "' train --solver='" + dir +
                                  "/solver.prototxt' --threads=1 > '" + log + "' 2>&1")
                                     .c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_TRUE(WIFEXITED(status)) << text.str();
  EXPECT_EQ(WEXITSTATUS(status), 1) << text.str();
  EXPECT_TRUE(std::regex_search(text.str(), std::regex("deepspark: error: loss is (NaN|inf) at "
                                                       "iteration [0-9]+: training diverged; "
                                                       "the snapshot of these weights")))
      << text.str();
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace deepspark
