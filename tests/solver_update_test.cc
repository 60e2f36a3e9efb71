// Solver update math without a Net: net-less solvers over bare blobs,
// checked against hand-computed values and a scalar reference of each rule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/sgd_solvers.hpp"
#include "deepspark/signal_handler.hpp"
#include "deepspark/solver_factory.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class SolverUpdateTest : public ::testing::Test {
 protected:
  // Two params: w0 (3 values, lr_mult 1, decay_mult 1) and w1 (2 values,
  // lr_mult 2, decay_mult 0.5).
  SolverUpdateTest() : w0_(std::vector<int>{3}), w1_(std::vector<int>{2}) {
    const double w0[] = {1.0, -0.5, 0.25};
    const double w1[] = {2.0, -1.0};
    for (int i = 0; i < 3; ++i) w0_.mutable_cpu_data()[i] = w0[i];
    for (int i = 0; i < 2; ++i) w1_.mutable_cpu_data()[i] = w1[i];
    set_.params = {&w0_, &w1_};
    set_.lr_mult = {1.0f, 2.0f};
    set_.decay_mult = {1.0f, 0.5f};
    param_.set_base_lr(0.1f);
    param_.set_lr_policy("fixed");
  }

  std::unique_ptr<Solver<Dtype>> Make() { return CreateSolver<Dtype>(param_, set_); }
  SGDSolver<Dtype>* Sgd(Solver<Dtype>* solver) { return dynamic_cast<SGDSolver<Dtype>*>(solver); }

  // The gradient of step `t` for element i of param p: varied in sign and size.
  static double Grad(int t, int p, int i) { return std::sin(1.0 + t * 0.7 + p * 1.3 + i * 0.9); }
  void SetGrads(int t) {
    for (int i = 0; i < 3; ++i) w0_.mutable_cpu_diff()[i] = Grad(t, 0, i);
    for (int i = 0; i < 2; ++i) w1_.mutable_cpu_diff()[i] = Grad(t, 1, i);
  }
  // Runs `steps` updates; ApplyUpdate then ++iter as Step does.
  void Run(Solver<Dtype>* solver, int steps) {
    for (int t = 0; t < steps; ++t) {
      SetGrads(solver->iter());
      solver->ApplyUpdate();
      solver->set_iter(solver->iter() + 1);
    }
  }
  // A scalar reference of every rule, in double.
  void Reference(const std::string& type, int steps, std::vector<double>* w0,
                 std::vector<double>* w1) {
    std::vector<std::vector<double>> w = {{1.0, -0.5, 0.25}, {2.0, -1.0}};
    std::vector<std::vector<double>> h1 = {{0, 0, 0}, {0, 0}}, h2 = h1;
    const double lr_mult[] = {1, 2};
    const double mom = param_.momentum(), delta = param_.delta();
    for (int t = 0; t < steps; ++t) {
      for (int p = 0; p < 2; ++p) {
        const double lr = param_.base_lr() * lr_mult[p];
        for (size_t i = 0; i < w[p].size(); ++i) {
          const double g = Grad(t, p, i);
          double diff = 0;
          if (type == "SGD") {
            h1[p][i] = mom * h1[p][i] + lr * g;
            diff = h1[p][i];
          } else if (type == "Nesterov") {
            const double prev = h1[p][i];
            h1[p][i] = mom * h1[p][i] + lr * g;
            diff = (1 + mom) * h1[p][i] - mom * prev;
          } else if (type == "AdaGrad") {
            h1[p][i] += g * g;
            diff = lr * g / (std::sqrt(h1[p][i]) + delta);
          } else if (type == "RMSProp") {
            const double d = param_.rms_decay();
            h1[p][i] = d * h1[p][i] + (1 - d) * g * g;
            diff = lr * g / (std::sqrt(h1[p][i]) + delta);
          } else if (type == "AdaDelta") {
            h1[p][i] = mom * h1[p][i] + (1 - mom) * g * g;
            const double u = g * std::sqrt((h2[p][i] + delta) / (h1[p][i] + delta));
            h2[p][i] = mom * h2[p][i] + (1 - mom) * u * u;
            diff = lr * u;
          } else if (type == "Adam") {
            const double b1 = mom, b2 = param_.momentum2();
            h1[p][i] = b1 * h1[p][i] + (1 - b1) * g;
            h2[p][i] = b2 * h2[p][i] + (1 - b2) * g * g;
            const double c = std::sqrt(1 - std::pow(b2, t + 1)) / (1 - std::pow(b1, t + 1));
            diff = lr * c * h1[p][i] / (std::sqrt(h2[p][i]) + delta);
          }
          w[p][i] -= diff;
        }
      }
    }
    *w0 = w[0];
    *w1 = w[1];
  }
  void ExpectMatchesReference(const std::string& type, int steps) {
    param_.set_type(type);
    auto solver = Make();
    EXPECT_EQ(std::string(solver->type()), type);
    Run(solver.get(), steps);
    std::vector<double> r0, r1;
    Reference(type, steps, &r0, &r1);
    const double tol = sizeof(Dtype) == 4 ? 2e-5 : 1e-10;
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(w0_.cpu_data()[i], r0[i], tol) << type << " w0 " << i;
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(w1_.cpu_data()[i], r1[i], tol) << type << " w1 " << i;
  }

  Blob<Dtype> w0_, w1_;
  SolverParamSet<Dtype> set_;
  caffe::SolverParameter param_;
};
TYPED_TEST_SUITE(SolverUpdateTest, TestDtypes);

TYPED_TEST(SolverUpdateTest, SgdByHand) {
  this->param_.set_momentum(0.9f);
  this->set_.params = {&this->w0_};
  this->set_.lr_mult = {1.0f};
  this->set_.decay_mult = {1.0f};
  auto solver = this->Make();
  // w = 1, g = 0.5: v = 0.05, w = 0.95; then v = 0.9*0.05 + 0.05 = 0.095, w = 0.855.
  this->w0_.mutable_cpu_diff()[0] = 0.5;
  solver->ApplyUpdate();
  EXPECT_NEAR(this->w0_.cpu_data()[0], 0.95, 1e-6);
  this->w0_.mutable_cpu_diff()[0] = 0.5;
  solver->ApplyUpdate();
  EXPECT_NEAR(this->w0_.cpu_data()[0], 0.855, 1e-6);
  EXPECT_NEAR(this->Sgd(solver.get())->history()[0]->cpu_data()[0], 0.095, 1e-6);
}

TYPED_TEST(SolverUpdateTest, FirstStepsByHand) {
  // Nesterov step 1: diff = (1+m)*lr*g = 1.9*0.1*0.5.
  this->param_.set_momentum(0.9f);
  this->param_.set_type("Nesterov");
  auto nesterov = this->Make();
  this->w0_.mutable_cpu_diff()[0] = 0.5;
  nesterov->ApplyUpdate();
  EXPECT_NEAR(this->w0_.cpu_data()[0], 1.0 - 0.095, 1e-6);
  // AdaGrad step 1: lr*g/(|g|+delta) = lr*sign(g); RMSProp(0.99): 10*lr*sign(g);
  // Adam step 1: lr*sign(g) (the bias correction cancels); all ~exactly.
  const struct {
    const char* type;
    float momentum;
    double move;
  } cases[] = {{"AdaGrad", 0, 0.1}, {"RMSProp", 0, 1.0}, {"Adam", 0.9f, 0.1}};
  for (const auto& c : cases) {
    this->w0_.mutable_cpu_data()[0] = 1.0;
    this->param_.set_type(c.type);
    this->param_.set_momentum(c.momentum);
    auto solver = this->Make();
    this->w0_.mutable_cpu_diff()[0] = -0.3;
    this->w1_.mutable_cpu_diff()[0] = 0;
    solver->ApplyUpdate();
    EXPECT_NEAR(this->w0_.cpu_data()[0], 1.0 + c.move, 1e-5) << c.type;
  }
  // AdaDelta step 1 (m = 0.95, delta = 1e-6, g = 2): hg = 0.2, u = 2*sqrt(1e-6/0.200001).
  this->w0_.mutable_cpu_data()[0] = 1.0;
  this->param_.set_type("AdaDelta");
  this->param_.set_momentum(0.95f);
  this->param_.set_delta(1e-6f);
  this->param_.set_base_lr(1.0f);
  auto adadelta = this->Make();
  this->w0_.mutable_cpu_diff()[0] = 2.0;
  adadelta->ApplyUpdate();
  EXPECT_NEAR(this->w0_.cpu_data()[0], 1.0 - 2.0 * std::sqrt(1e-6 / 0.200001), 1e-6);
  EXPECT_EQ(this->Sgd(adadelta.get())->history().size(), 4u);  // 2 per param
}

TYPED_TEST(SolverUpdateTest, SgdMatchesReference) {
  this->param_.set_momentum(0.9f);
  this->ExpectMatchesReference("SGD", 5);
}

TYPED_TEST(SolverUpdateTest, NesterovMatchesReference) {
  this->param_.set_momentum(0.8f);
  this->ExpectMatchesReference("Nesterov", 5);
}
TYPED_TEST(SolverUpdateTest, AdaGradMatchesReference) {
  this->param_.set_delta(1e-4f);
  this->ExpectMatchesReference("AdaGrad", 5);
}
TYPED_TEST(SolverUpdateTest, RMSPropMatchesReference) {
  this->param_.set_rms_decay(0.9f);
  this->ExpectMatchesReference("RMSProp", 5);
}
TYPED_TEST(SolverUpdateTest, AdaDeltaMatchesReference) {
  this->param_.set_momentum(0.95f);
  this->param_.set_delta(1e-6f);
  this->param_.set_base_lr(1.0f);
  this->ExpectMatchesReference("AdaDelta", 5);
}
TYPED_TEST(SolverUpdateTest, AdamMatchesReference) {
  this->param_.set_momentum(0.9f);
  this->param_.set_base_lr(0.01f);
  this->ExpectMatchesReference("Adam", 5);
}

TYPED_TEST(SolverUpdateTest, LearningRatePolicies) {
  auto rate_at = [this](int iter) {
    auto solver = this->Make();
    solver->set_iter(iter);
    return static_cast<double>(this->Sgd(solver.get())->GetLearningRate());
  };
  // lenet_solver.prototxt: inv, base 0.01, gamma 1e-4, power 0.75.
  this->param_.set_lr_policy("inv");
  this->param_.set_base_lr(0.01f);
  this->param_.set_gamma(1e-4f);
  this->param_.set_power(0.75f);
  EXPECT_NEAR(rate_at(100), 0.00992565, 5e-9);
  EXPECT_NEAR(rate_at(0), 0.01, 1e-9);
  this->param_.set_lr_policy("fixed");
  EXPECT_NEAR(rate_at(12345), 0.01, 1e-9);
  this->param_.set_lr_policy("step");
  this->param_.set_gamma(0.1f);
  this->param_.set_stepsize(10);
  EXPECT_NEAR(rate_at(9), 0.01, 1e-9);
  EXPECT_NEAR(rate_at(25), 0.0001, 1e-9);
  this->param_.set_lr_policy("exp");
  this->param_.set_base_lr(1.0f);
  this->param_.set_gamma(0.5f);
  EXPECT_NEAR(rate_at(3), 0.125, 1e-7);
  this->param_.set_lr_policy("poly");
  this->param_.set_power(2.0f);
  this->param_.set_max_iter(10);
  EXPECT_NEAR(rate_at(5), 0.25, 1e-7);
  this->param_.set_lr_policy("sigmoid");
  this->param_.set_gamma(1.0f);
  this->param_.set_stepsize(5);
  EXPECT_NEAR(rate_at(5), 0.5, 1e-7);
  EXPECT_NEAR(rate_at(7), 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
}

// A distributed worker of N runs the schedule at iteration iter x N: every
// policy then gives at iter what it gives unscaled at iter x N, and poly
// stays at 0 (not NaN) once the scaled iteration passes max_iter.
TYPED_TEST(SolverUpdateTest, ScheduleScaleRunsThePolicyAtScaledIterations) {
  auto rate_at = [this](int iter, double scale) {
    auto solver = this->Make();
    solver->set_lr_schedule_scale(scale);
    solver->set_iter(iter);
    return static_cast<double>(this->Sgd(solver.get())->GetLearningRate());
  };
  struct Policy {
    const char* name;
    float gamma, power;
    int stepsize;
  };
  this->param_.set_base_lr(0.01f);
  this->param_.set_max_iter(1000);
  this->param_.clear_stepvalue();
  this->param_.add_stepvalue(100);
  for (const Policy& p : {Policy{"inv", 1e-3f, 0.75f, 0}, Policy{"exp", 0.999f, 0, 0},
                          Policy{"step", 0.1f, 0, 40}, Policy{"poly", 0, 2.0f, 0},
                          Policy{"sigmoid", -0.05f, 0, 100}, Policy{"multistep", 0.1f, 0, 0},
                          Policy{"fixed", 0, 0, 0}}) {
    SCOPED_TRACE(p.name);
    this->param_.set_lr_policy(p.name);
    this->param_.set_gamma(p.gamma);
    this->param_.set_power(p.power);
    this->param_.set_stepsize(p.stepsize);
    for (int iter : {0, 7, 30, 99}) {
      EXPECT_NEAR(rate_at(iter, 4.0), rate_at(iter * 4, 1.0), 1e-9) << "iter " << iter;
    }
  }
  this->param_.set_lr_policy("poly");
  this->param_.set_power(0.5f);
  const double past = rate_at(300, 4.0);  // 1200 > max_iter
  EXPECT_EQ(past, 0.0);
  EXPECT_GT(rate_at(200, 4.0), 0.0);
}

TYPED_TEST(SolverUpdateTest, MultiStepAdvancesAtMostOncePerCall) {
  this->param_.set_lr_policy("multistep");
  this->param_.set_base_lr(1.0f);
  this->param_.set_gamma(0.5f);
  this->param_.add_stepvalue(2);
  this->param_.add_stepvalue(3);
  auto solver = this->Make();
  SGDSolver<TypeParam>* sgd = this->Sgd(solver.get());
  solver->set_iter(1);
  EXPECT_NEAR(sgd->GetLearningRate(), 1.0, 1e-7);
  solver->set_iter(10);  // past both steps, but one step per call
  EXPECT_NEAR(sgd->GetLearningRate(), 0.5, 1e-7);
  EXPECT_EQ(solver->current_step(), 1);
  EXPECT_NEAR(sgd->GetLearningRate(), 0.25, 1e-7);
  EXPECT_EQ(solver->current_step(), 2);
  EXPECT_NEAR(sgd->GetLearningRate(), 0.25, 1e-7);  // no more steps
}

TYPED_TEST(SolverUpdateTest, WeightDecayL2AndL1WithDecayMult) {
  this->param_.set_weight_decay(0.1f);
  this->param_.set_base_lr(1.0f);
  for (const char* type : {"L2", "L1"}) {
    this->param_.set_regularization_type(type);
    auto solver = this->Make();
    SGDSolver<TypeParam>* sgd = this->Sgd(solver.get());
    this->w0_.mutable_cpu_diff()[1] = 0.2;  // w0[1] = -0.5, decay_mult 1
    this->w1_.mutable_cpu_diff()[0] = 0.2;  // w1[0] = 2.0, decay_mult 0.5
    sgd->Regularize(0);
    sgd->Regularize(1);
    const bool l2 = std::string(type) == "L2";
    EXPECT_NEAR(this->w0_.cpu_diff()[1], 0.2 + 0.1 * (l2 ? -0.5 : -1.0), 1e-7) << type;
    EXPECT_NEAR(this->w1_.cpu_diff()[0], 0.2 + 0.05 * (l2 ? 2.0 : 1.0), 1e-7) << type;
  }
  this->param_.set_regularization_type("L3");
  EXPECT_THROW(this->Make(), Error);
}

TYPED_TEST(SolverUpdateTest, ClipGradientsUsesTheGlobalNorm) {
  this->param_.set_clip_gradients(1.0f);
  auto solver = this->Make();
  // Diffs (0, 3, 0 | 0, 4): norm 5 over both params -> scaled by 1/5.
  caffe_set(3, TypeParam(0), this->w0_.mutable_cpu_diff());
  caffe_set(2, TypeParam(0), this->w1_.mutable_cpu_diff());
  this->w0_.mutable_cpu_diff()[1] = 3;
  this->w1_.mutable_cpu_diff()[1] = 4;
  this->Sgd(solver.get())->ClipGradients();
  EXPECT_NEAR(this->w0_.cpu_diff()[1], 0.6, 1e-6);
  EXPECT_NEAR(this->w1_.cpu_diff()[1], 0.8, 1e-6);
  // Under the threshold: unchanged.
  this->Sgd(solver.get())->ClipGradients();
  EXPECT_NEAR(this->w0_.cpu_diff()[1], 0.6, 1e-6);
}

TYPED_TEST(SolverUpdateTest, IterSizeNormalizes) {
  this->param_.set_iter_size(4);
  auto solver = this->Make();
  this->w0_.mutable_cpu_diff()[2] = 2.0;
  this->Sgd(solver.get())->Normalize(0);
  EXPECT_NEAR(this->w0_.cpu_diff()[2], 0.5, 1e-7);
  // Full update: w -= lr * g/iter_size = 0.25 - 0.1*0.5.
  this->w0_.mutable_cpu_diff()[2] = 2.0;
  solver->ApplyUpdate();
  EXPECT_NEAR(this->w0_.cpu_data()[2], 0.2, 1e-6);
}

TYPED_TEST(SolverUpdateTest, FactoryErrors) {
  this->param_.set_type("Adamax");
  try {
    this->Make();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Adamax"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("AdaDelta, AdaGrad, Adam, Nesterov, RMSProp, SGD"),
              std::string::npos)
        << e.what();
  }
  this->param_.set_momentum(0.9f);
  this->param_.set_type("AdaGrad");
  EXPECT_THROW(this->Make(), Error);
  this->param_.set_type("RMSProp");
  EXPECT_THROW(this->Make(), Error);
  this->param_.set_momentum(0);
  this->param_.set_rms_decay(1.0f);
  EXPECT_THROW(this->Make(), Error);
  // Legacy enum.
  caffe::SolverParameter legacy;
  legacy.set_lr_policy("fixed");
  legacy.set_solver_type(caffe::SolverParameter::NESTEROV);
  EXPECT_EQ(SolverTypeOf(legacy), "Nesterov");
  EXPECT_EQ(std::string(CreateSolver<TypeParam>(legacy, this->set_)->type()), "Nesterov");
  legacy.set_type("Adam");
  EXPECT_THROW(SolverTypeOf(legacy), Error);
  // Unknown lr policy is an error at construction.
  this->param_.set_type("SGD");
  this->param_.set_lr_policy("cosine");
  EXPECT_THROW(this->Make(), Error);
}

TYPED_TEST(SolverUpdateTest, HistorySnapshotAndRestoreNetless) {
  char dir_template[] = "/tmp/ds_solver_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  this->param_.set_type("Adam");
  this->param_.set_momentum(0.9f);
  this->param_.set_base_lr(0.01f);
  this->param_.set_snapshot_prefix(dir + "/net");
  auto solver = this->Make();
  this->Run(solver.get(), 3);
  const std::string state_file = solver->Snapshot();
  EXPECT_EQ(state_file, dir + "/net_iter_3.solverstate");
  std::vector<TypeParam> saved_w0(this->w0_.cpu_data(), this->w0_.cpu_data() + 3);
  this->Run(solver.get(), 2);
  std::vector<TypeParam> final_w0(this->w0_.cpu_data(), this->w0_.cpu_data() + 3);

  // A fresh solver restored from iter 3 (weights put back by hand: net-less
  // snapshots hold only the history) continues identically.
  std::copy(saved_w0.begin(), saved_w0.end(), this->w0_.mutable_cpu_data());
  std::vector<double> r0, r1;
  this->Reference("Adam", 3, &r0, &r1);
  for (int i = 0; i < 2; ++i) this->w1_.mutable_cpu_data()[i] = r1[i];
  auto resumed = this->Make();
  resumed->Restore(state_file);
  EXPECT_EQ(resumed->iter(), 3);
  this->Run(resumed.get(), 2);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(this->w0_.cpu_data()[i], final_w0[i], 1e-6);

  // History count must match: an SGD solver cannot take Adam's 2N blobs.
  this->param_.set_type("SGD");
  auto sgd = this->Make();
  EXPECT_THROW(sgd->Restore(state_file), Error);
  std::remove(state_file.c_str());
  rmdir(dir.c_str());
}

TEST(SignalHandlerTest, SignalsBecomeActions) {
  EXPECT_EQ(ParseSolverAction("stop"), SolverAction::STOP);
  EXPECT_EQ(ParseSolverAction("snapshot"), SolverAction::SNAPSHOT);
  EXPECT_EQ(ParseSolverAction("none"), SolverAction::NONE);
  EXPECT_THROW(ParseSolverAction("exit"), Error);
  SignalHandler handler(SolverAction::STOP, SolverAction::SNAPSHOT);
  ActionCallback poll = handler.GetActionFunction();
  EXPECT_EQ(poll(), SolverAction::NONE);
  std::raise(SIGHUP);
  EXPECT_EQ(poll(), SolverAction::SNAPSHOT);
  EXPECT_EQ(poll(), SolverAction::NONE);
  std::raise(SIGINT);
  EXPECT_EQ(poll(), SolverAction::STOP);
  EXPECT_EQ(poll(), SolverAction::NONE);
}

}  // namespace deepspark
