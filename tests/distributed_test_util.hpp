// The tiny job of the distributed tests: a real ParameterServer on
// 127.0.0.1 whose center is 8 known floats, and ParamClients as ranks.
// Shared by distributed_server_test.cc and distributed_shard_server_test.cc.
#pragma once

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "data_test_util.hpp"
#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"

namespace deepspark {
namespace distributed {

// DummyData (2x3 of ones) -> InnerProduct(2): 6 weights of 0.5, 2 biases of
// 0.25, so the center starts as 8 known floats.
inline const char* const kNet = R"(
  name: "tiny"
  layer { name: "data" type: "DummyData" top: "data"
          dummy_data_param { shape { dim: 2 dim: 3 } data_filler { type: "constant" value: 1 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
          inner_product_param { num_output: 2
            weight_filler { type: "constant" value: 0.5 }
            bias_filler { type: "constant" value: 0.25 } } }
)";
constexpr int kParams = 8;
// The center kNet starts with.
inline std::vector<float> TinyCenter() {
  return {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f};
}

class DistServerTest : public ::testing::Test {
 protected:
  // The tiny job's options (the center starts as Initial()).
  ServerOptions TinyJob(int workers, int heartbeat_ms = 20000, float alpha = 0.25f,
                        const std::string& rule = "async-easgd") {
    ServerOptions opt;
    caffe::NetParameter net;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kNet, &net));
    *opt.solver.mutable_net_param() = net;
    opt.solver.set_max_iter(100);
    opt.solver.set_random_seed(1);
    opt.solver.set_snapshot_prefix(dir_ / "tiny");
    opt.solver_path = "tiny_solver";
    opt.num_workers = workers;
    opt.rule = rule;
    opt.moving_rate = alpha;
    opt.server_threads = 2;
    opt.listen = "tcp://127.0.0.1:0";
    key_ = GenerateJobKey();
    opt.key = key_;
    opt.heartbeat_timeout_ms = heartbeat_ms;
    opt.quiet = true;
    return opt;
  }
  void StartServer(int workers, int heartbeat_ms = 20000, float alpha = 0.25f,
                   const std::string& rule = "async-easgd", float lr_power = -1,
                   int lr_schedule_by_all = -1) {
    ServerOptions opt = TinyJob(workers, heartbeat_ms, alpha, rule);
    opt.lr_power = lr_power;
    opt.lr_schedule_by_all = lr_schedule_by_all;
    server_.reset(new ParameterServer(opt));
    server_->Start();
    ASSERT_EQ(server_->param_count(), kParams);
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      server_.reset();
    }
  }
  std::unique_ptr<ParamClient> NewClient(int rank = -1) {
    auto client = std::make_unique<ParamClient>(server_->control_endpoint(), key_, rank, 10);
    client->Join();
    return client;
  }
  // One exchange of `rule` (the server's) by `client`.
  static void Exchange(ParamClient& client, const std::string& rule, float* x, float alpha,
                       float factor = 1.f) {
    ExchangeRates rates;
    rates.alpha = alpha;
    rates.factor = factor;
    NewExchangeRule(rule)->Exchange(client, x, rates);
  }
  static void AsyncElastic(ParamClient& client, float* x, float alpha, float factor) {
    Exchange(client, "async-easgd", x, alpha, factor);
  }
  static std::vector<float> Initial() { return TinyCenter(); }

  TempDir dir_;
  JobKey key_;
  std::unique_ptr<ParameterServer> server_;
};

}  // namespace distributed
}  // namespace deepspark
