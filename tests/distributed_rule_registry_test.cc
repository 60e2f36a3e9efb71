// The exchange-rule registry, and rules end to end on the in-process
// network: the original DeepSpark rule against its formula, and a rule
// defined in this file alone (with its one registration line), to show that
// adding a rule touches nothing else.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "data_test_util.hpp"
#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "deepspark/distributed/transport.hpp"
#include "distributed_test_util.hpp"

namespace deepspark {
namespace distributed {
namespace {

// A rule of this test only: the worker takes the center and pushes a tensor
// of ones; the shard adds what is pushed. After k exchanges the center has
// grown by k.
class AdoptAndCountRule : public ExchangeRule {
 public:
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    (void)rates;
    link.Call(Kind::PULL, nullptr, x, nullptr);
    ones_.assign(static_cast<size_t>(link.param_count()), 1.f);
    link.Call(Kind::PUSH, ones_.data(), nullptr, nullptr);
  }
  void OnRequest(ShardState& shard, const ShardRequest& request) override {
    if (request.kind != Kind::PUSH) throw ProtocolError("adopt-and-count takes PUSH only");
    for (size_t i = 0; i < request.count; ++i) shard.center()[i] += request.tensor[i];
    shard.BumpVersion();
    shard.Answer(request, Kind::PUSH_ACK, shard.version(), nullptr);
  }

 private:
  std::vector<float> ones_;
};
REGISTER_EXCHANGE_RULE("test-adopt-and-count", AdoptAndCountRule,
                       "tests only: take the center, push ones");

// The tiny job (distributed_test_util.hpp: kNet, kParams).
std::vector<float> Initial() { return TinyCenter(); }

class DistRuleTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& rule, int workers, float alpha, float factor) {
    ServerOptions opt;
    caffe::NetParameter net;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kNet, &net));
    *opt.solver.mutable_net_param() = net;
    opt.solver.set_max_iter(100);
    opt.solver.set_snapshot_prefix(dir_ / "tiny");
    opt.solver_path = "tiny_solver";
    opt.num_workers = workers;
    opt.rule = rule;
    opt.moving_rate = alpha;
    opt.schedule.set_server_factor(factor);
    opt.listen = "mem://rule-test";
    opt.transport = network_.Node("server");
    opt.quiet = true;
    server_ = std::make_unique<ParameterServer>(opt);
    server_->Start();
  }
  std::unique_ptr<ParamClient> NewClient(const std::string& name,
                                         const FaultPlan& faults = FaultPlan()) {
    auto client = std::make_unique<ParamClient>(server_->control_endpoint(), JobKey(), -1, 10,
                                                network_.Node(name, faults));
    client->Join();
    return client;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
  }

  TempDir dir_;
  InProcessNetwork network_{7};
  std::unique_ptr<ParameterServer> server_;
};

TEST(DistRuleRegistryTest, KnowsEveryRuleAndNamesThemForAnUnknownOne) {
  std::vector<std::string> names;
  for (const auto& rule : ExchangeRules()) names.push_back(rule.first);
  for (const char* name :
       {"async-easgd", "deepspark", "sync-easgd", "model-averaging", "sync-sgd"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_NE(NewExchangeRule(name), nullptr);
  }
  try {
    NewExchangeRule("easgd-typo");
    FAIL() << "an unknown rule was made";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("easgd-typo"), std::string::npos) << what;
    EXPECT_NE(what.find("async-easgd"), std::string::npos) << what;
    EXPECT_NE(what.find("model-averaging"), std::string::npos) << what;
  }
}

TEST_F(DistRuleTest, ARuleDefinedInOneFileRunsByItsName) {
  StartServer("test-adopt-and-count", 2, 0.5f, 1.f);
  auto a = NewClient("a");
  auto b = NewClient("b");
  EXPECT_EQ(a->spec().rule(), "test-adopt-and-count");
  std::vector<float> xa(kParams), xb(kParams);
  auto rule = NewExchangeRule(a->spec().rule());
  rule->Exchange(*a, xa.data(), ExchangeRates());
  EXPECT_EQ(xa, Initial());
  rule->Exchange(*b, xb.data(), ExchangeRates());
  rule->Exchange(*a, xa.data(), ExchangeRates());
  std::vector<float> expected = Initial();
  for (float& v : expected) v += 3;
  EXPECT_EQ(server_->CenterForTest(), expected);
  for (int i = 0; i < kParams; ++i) EXPECT_EQ(xa[i], Initial()[i] + 2) << i;
}

TEST_F(DistRuleTest, TheOriginalDeepSparkRuleFollowsItsFormula) {
  const float alpha = 0.25f, factor = 0.5f;
  StartServer("deepspark", 1, alpha, factor);
  auto client = NewClient("w");
  auto rule = NewExchangeRule("deepspark");
  std::vector<float> x = {1.f, -1.f, 2.f, 0.f, 3.f, -2.f, 0.5f, 4.f};
  std::vector<float> c = Initial();
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < kParams; ++i) x[i] += 0.125f * (i + k);  // "training"
    std::vector<float> x_sent = x;
    ExchangeRates rates;
    rates.alpha = alpha;
    rates.factor = factor;
    rule->Exchange(*client, x.data(), rates);
    for (int i = 0; i < kParams; ++i) {
      // Worker: x = (1 - a) x + a c; server: c = (1 - a f) c + a f x.
      const float expected_x = x_sent[i] - alpha * (x_sent[i] - c[i]);
      c[i] += alpha * factor * (x_sent[i] - c[i]);
      EXPECT_FLOAT_EQ(x[i], expected_x) << "exchange " << k << " parameter " << i;
    }
    const std::vector<float> center = server_->CenterForTest();
    for (int i = 0; i < kParams; ++i) EXPECT_FLOAT_EQ(center[i], c[i]) << k << " " << i;
  }
}

// Every message twice, or a third of them lost (so requests are resent):
// each PUSH must still be applied exactly once, so the center is exactly
// what one clean exchange after another gives.
TEST_F(DistRuleTest, DuplicatedAndResentPushesApplyOnce) {
  FaultPlan twice;
  twice.duplicate = 1;
  FaultPlan lossy;
  lossy.drop = 0.3;
  StartServer("async-easgd", 2, 0.25f, 1.f);
  auto a = NewClient("twice", twice);
  auto b = NewClient("lossy", lossy);
  auto rule = NewExchangeRule("async-easgd");
  std::vector<float> xa = {1.f, -1.f, 2.f, 0.f, 3.f, -2.f, 0.5f, 4.f}, xb(kParams, -1.f);
  std::vector<float> c = Initial();
  ExchangeRates rates;
  rates.alpha = 0.25f;
  for (int k = 0; k < 6; ++k) {
    std::vector<float>& x = k % 2 ? xb : xa;
    for (int i = 0; i < kParams; ++i) x[i] += 0.125f * (i + k);
    std::vector<float> expected_x = x;
    for (int i = 0; i < kParams; ++i) {
      const float d = 0.25f * (expected_x[i] - c[i]);
      expected_x[i] -= d;
      c[i] += d;
    }
    rule->Exchange(k % 2 ? *b : *a, x.data(), rates);
    EXPECT_EQ(x, expected_x) << "exchange " << k;
    EXPECT_EQ(server_->CenterForTest(), c) << "exchange " << k;
  }
  const FaultCounts counts = network_.counts();
  EXPECT_GT(counts.duplicated, 0);
  EXPECT_GT(counts.dropped, 0);
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark
