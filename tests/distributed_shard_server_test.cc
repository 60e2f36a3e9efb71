// The center split over the parameter server and shard servers
// (shard_server.hpp), over real ZeroMQ sockets on 127.0.0.1: the exchange is
// exact across processes' shards, workers wait for the shard servers, and a
// missing or lost shard server ends the job with an error that says so.
// (The same under every rule on a lossy network: distributed_fault_test.cc.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <set>
#include <thread>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/shard_server.hpp"
#include "distributed_test_util.hpp"

namespace deepspark {
namespace distributed {
namespace {

class DistShardServerTest : public DistServerTest {
 protected:
  // A tiny job whose center is split over this process and `shard_servers`.
  void StartSplitServer(int workers, int shard_servers, const std::string& rule = "async-easgd",
                        int heartbeat_ms = 20000) {
    ServerOptions opt = TinyJob(workers, heartbeat_ms, 0.25f, rule);
    opt.shard_servers = shard_servers;
    opt.server_threads = 1;
    opt.shard_server_wait_s = 30;
    server_.reset(new ParameterServer(opt));
    server_->Start();
  }
  // Runs a shard server of the job in a thread.
  void StartShardServer(const std::string& listen = "tcp://127.0.0.1:0") {
    ShardServerOptions opt;
    opt.server = server_->control_endpoint();
    opt.listen = listen;
    opt.key = key_;
    opt.quiet = true;
    opt.give_up_ms = 5000;
    shard_servers_.push_back(std::make_unique<ShardServer>(opt));
    ShardServer* raw = shard_servers_.back().get();
    results_.emplace_back();
    errors_.emplace_back();
    const size_t i = results_.size() - 1;
    threads_.emplace_back([this, raw, i] {
      try {
        results_[i] = raw->Run();
      } catch (const std::exception& e) {
        errors_[i] = e.what();
      }
    });
  }
  void JoinShardServers() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  void TearDown() override {
    for (auto& s : shard_servers_) s->Stop();
    JoinShardServers();
    DistServerTest::TearDown();
  }

  std::vector<std::unique_ptr<ShardServer>> shard_servers_;
  std::deque<ShardServerResult> results_;
  std::deque<std::string> errors_;
  std::vector<std::thread> threads_;
};

TEST_F(DistShardServerTest, SplitCenterExchangesExactly) {
  StartSplitServer(1, 1);
  StartShardServer();
  auto client = NewClient();
  // Two shards of 4 floats: one here, one in the shard server.
  ASSERT_EQ(client->spec().shard_endpoint_size(), 2);
  EXPECT_NE(client->spec().shard_endpoint(0), client->spec().shard_endpoint(1));
  EXPECT_EQ(server_->CenterForTest(), Initial());
  std::vector<float> x = {1.f, -1.f, 2.f, 0.f, 3.f, -2.f, 0.5f, 4.f};
  std::vector<float> xr = x, cr = Initial(), delta(kParams);
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < kParams; ++i) x[i] += 0.125f * (i + k);
    for (int i = 0; i < kParams; ++i) xr[i] += 0.125f * (i + k);
    client->set_iter(10 * (k + 1));
    AsyncElastic(*client, x.data(), 0.25f, 1.f);
    ElasticWorkerStep(xr.data(), cr.data(), 0.25f, 1.f, kParams, delta.data());
    ApplyDelta(cr.data(), delta.data(), kParams);
  }
  EXPECT_EQ(x, xr);
  EXPECT_EQ(server_->CenterForTest(), cr);
  EXPECT_EQ(server_->center_iter(), 50);
  // The job ends: the shard server hears it and returns what it held.
  server_->Stop();
  server_->Wait();
  JoinShardServers();
  EXPECT_EQ(errors_[0], "");
  EXPECT_EQ(results_[0].process, 1);
  EXPECT_EQ(results_[0].shards, 1);
  EXPECT_EQ(results_[0].floats, kParams / 2);
  EXPECT_EQ(results_[0].center_iter, 50);
}

TEST_F(DistShardServerTest, SyncRoundsSpanTheProcesses) {
  const int n = 3;
  StartSplitServer(n, 2, "sync-sgd");
  StartShardServer();
  StartShardServer();
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  ASSERT_EQ(clients[0]->spec().shard_endpoint_size(), 3);
  std::vector<std::vector<float>> xs(n, std::vector<float>(kParams)), out = xs;
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < kParams; ++i) xs[r][i] = 0.125f * ((r + 1) * (i + 3) % 7);
  }
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; ++r) {
    ranks.emplace_back([&, r] { clients[r]->Call(Kind::SYNC, xs[r].data(), out[r].data(), 0); });
  }
  for (auto& t : ranks) t.join();
  for (int i = 0; i < kParams; ++i) {
    const float mean = (xs[0][i] + xs[1][i] + xs[2][i]) / 3;
    for (int r = 0; r < n; ++r) EXPECT_FLOAT_EQ(out[r][i], mean) << "rank " << r << " float " << i;
  }
}

TEST_F(DistShardServerTest, WorkersAreWelcomedOnceEveryShardServerIsThere) {
  StartSplitServer(1, 1);
  std::atomic<bool> joined{false};
  std::unique_ptr<ParamClient> client;
  std::thread joiner([&] {
    client = NewClient();
    joined = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(joined) << "welcomed before the center was complete";
  StartShardServer();
  joiner.join();
  ASSERT_TRUE(joined);
  std::vector<float> pulled(kParams);
  client->PullCenter(pulled.data());
  EXPECT_EQ(pulled, Initial());
}

TEST_F(DistShardServerTest, ALostShardServerEndsTheJobWithAnError) {
  StartSplitServer(1, 1, "async-easgd", /*heartbeat_ms=*/800);
  StartShardServer();
  auto client = NewClient();
  std::vector<float> x = Initial();
  AsyncElastic(*client, x.data(), 0.25f, 1.f);
  shard_servers_[0]->Stop();  // as if killed: it polls no more
  try {
    server_->Wait();
    FAIL() << "the job ended normally without part of its center";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard server 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("are lost"), std::string::npos) << e.what();
  }
}

TEST_F(DistShardServerTest, AMissingShardServerEndsTheJobWithAnError) {
  ServerOptions opt = TinyJob(1);
  opt.shard_servers = 2;
  opt.shard_server_wait_s = 1;
  server_.reset(new ParameterServer(opt));
  server_->Start();
  StartShardServer();
  try {
    server_->Wait();
    FAIL() << "the job ended normally without its shard servers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only 1 of 2 shard servers"), std::string::npos)
        << e.what();
  }
}

TEST_F(DistShardServerTest, ExtraShardServersAndWildcardsAreRefused) {
  StartSplitServer(1, 1);
  StartShardServer();
  auto client = NewClient();  // the first is in
  StartShardServer();
  StartShardServer("tcp://0.0.0.0:0");
  threads_[1].join();
  threads_[2].join();
  threads_.erase(threads_.begin() + 1, threads_.end());
  EXPECT_NE(errors_[1].find("has its 1 shard servers already"), std::string::npos) << errors_[1];
  EXPECT_NE(errors_[2].find("wildcard"), std::string::npos) << errors_[2];
  // A server with its center in one process takes none.
  client.reset();
  server_->Stop();
  server_->Wait();
  JoinShardServers();
  StartServer(1);
  StartShardServer();
  threads_.back().join();
  threads_.clear();
  EXPECT_NE(errors_.back().find("keeps its whole center in one process"), std::string::npos)
      << errors_.back();
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark
