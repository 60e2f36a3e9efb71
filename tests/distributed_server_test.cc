// A real ParameterServer on 127.0.0.1 with ranks as threads (one ParamClient
// each): the exchange rules end to end, membership, and refused messages.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "distributed_test_util.hpp"

namespace deepspark {
namespace distributed {
namespace {

TEST_F(DistServerTest, StartsWithTheFilledCenter) {
  StartServer(1);
  EXPECT_EQ(server_->CenterForTest(), Initial());
  auto client = NewClient();
  EXPECT_EQ(client->spec().param_count(), kParams);
  EXPECT_EQ(client->spec().shard_endpoint_size(), 2);
  std::vector<float> pulled(kParams);
  client->PullCenter(pulled.data());
  EXPECT_EQ(pulled, Initial());
}

// Workers learn their learning rate from the JobSpec: under an elastic rule
// base_lr x N^(2/3) by default, sync-sgd keeps the solver's; the schedule
// runs at iter x N only when asked.
TEST_F(DistServerTest, JobSpecCarriesTheLearningRateForN) {
  StartServer(8);
  auto client = NewClient();
  EXPECT_NEAR(client->spec().lr_scale(), std::pow(8.0, kDefaultLrPower), 1e-5);
  EXPECT_NEAR(client->spec().lr_scale(), 4.0, 1e-5);
  EXPECT_EQ(client->spec().lr_schedule_scale(), 1.f);
  client.reset();
  server_->Stop();
  StartServer(8, 20000, 0.25f, "sync-sgd");
  client = NewClient();
  EXPECT_EQ(client->spec().lr_scale(), 1.f);
  EXPECT_EQ(client->spec().lr_schedule_scale(), 1.f);
  client.reset();
  server_->Stop();
  StartServer(4, 20000, 0.25f, "async-easgd", /*lr_power=*/1.f, /*lr_schedule_by_all=*/1);
  client = NewClient();
  EXPECT_EQ(client->spec().lr_scale(), 4.f);
  EXPECT_EQ(client->spec().lr_schedule_scale(), 4.f);
}

TEST_F(DistServerTest, AsyncEasgdSingleWorkerIsExact) {
  StartServer(1);
  auto client = NewClient();
  std::vector<float> x = {1.f, -1.f, 2.f, 0.f, 3.f, -2.f, 0.5f, 4.f};
  std::vector<float> xr = x, cr = Initial(), delta(kParams);
  const float alpha = 0.25f, factor = 0.5f;
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < kParams; ++i) x[i] += 0.125f * (i + k);  // "training"
    for (int i = 0; i < kParams; ++i) xr[i] += 0.125f * (i + k);
    AsyncElastic(*client, x.data(), alpha, factor);
    ElasticWorkerStep(xr.data(), cr.data(), alpha, factor, kParams, delta.data());
    ApplyDelta(cr.data(), delta.data(), kParams);
  }
  EXPECT_EQ(x, xr);
  EXPECT_EQ(server_->CenterForTest(), cr);
}

TEST_F(DistServerTest, PushesAdvanceTheCenterIteration) {
  // No heartbeats here: the iteration comes with the exchanges themselves.
  StartServer(1);
  auto client = NewClient();
  std::vector<float> x = Initial();
  EXPECT_EQ(server_->center_iter(), 0);
  client->set_iter(30);
  AsyncElastic(*client, x.data(), 0.25f, 1.f);
  EXPECT_EQ(server_->center_iter(), 30);
  // A lagging worker does not move it back.
  client->set_iter(20);
  AsyncElastic(*client, x.data(), 0.25f, 1.f);
  EXPECT_EQ(server_->center_iter(), 30);
}

TEST_F(DistServerTest, ConcurrentMirrorsOfTheSameParamsSetTheCenterExactly) {
  // Sync SGD: every worker holds the same x and mirrors it at once. Deltas
  // against a stale pull would add up (c + k (x - c)); a mirror replaces.
  const int n = 4;
  StartServer(n, 20000, 0.25f, "sync-sgd");
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  for (int round = 1; round <= 10; ++round) {
    std::vector<float> x(kParams);
    for (int i = 0; i < kParams; ++i) x[i] = static_cast<float>(round * 10 + i);
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
      threads.emplace_back([&, r] { Exchange(*clients[r], "sync-sgd", x.data(), 0.f); });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(server_->CenterForTest(), x) << "round " << round;
  }
}

TEST_F(DistServerTest, AsyncEasgdManyWorkersConserveTheSum) {
  // With f = 1 each exchange moves d from x_i to c: sum_i x_i + c is kept.
  const int n = 3, rounds = 20;
  StartServer(n);
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  std::vector<std::vector<float>> xs(n, std::vector<float>(kParams));
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < kParams; ++i) xs[r][i] = static_cast<float>(r * 3 - i);
  }
  std::vector<double> total(kParams, 0.0);
  const std::vector<float> c0 = Initial();
  for (int i = 0; i < kParams; ++i) {
    total[i] = c0[i];
    for (int r = 0; r < n; ++r) total[i] += xs[r][i];
  }
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      for (int k = 0; k < rounds; ++k) AsyncElastic(*clients[r], xs[r].data(), 0.3f, 1.f);
    });
  }
  for (auto& t : threads) t.join();
  const std::vector<float> c = server_->CenterForTest();
  for (int i = 0; i < kParams; ++i) {
    double now = c[i];
    for (int r = 0; r < n; ++r) now += xs[r][i];
    EXPECT_NEAR(now, total[i], 1e-4) << "parameter " << i;
  }
  // Exchanges pull every worker and the center together. (Checked after
  // round-robin rounds: how close they are after the concurrent ones
  // depends on how the threads were scheduled.)
  for (int k = 0; k < rounds; ++k) {
    for (int r = 0; r < n; ++r) AsyncElastic(*clients[r], xs[r].data(), 0.3f, 1.f);
  }
  const std::vector<float> c_after = server_->CenterForTest();
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < kParams; ++i) EXPECT_NEAR(xs[r][i], c_after[i], 0.1) << r << " " << i;
  }
}

// Runs one synchronous round (the server's rule) with n ranks as threads.
std::vector<std::vector<float>> RunRound(std::vector<std::unique_ptr<ParamClient>>* clients,
                                         const std::vector<std::vector<float>>& xs) {
  const size_t n = clients->size();
  std::vector<std::vector<float>> results(n, std::vector<float>(kParams, -99.f));
  std::vector<std::thread> threads;
  for (size_t r = 0; r < n; ++r) {
    threads.emplace_back(
        [&, r] { (*clients)[r]->Call(Kind::SYNC, xs[r].data(), results[r].data(), nullptr); });
  }
  for (auto& t : threads) t.join();
  return results;
}

// Small multiples of 1/8 so that sums are exact in any order.
std::vector<std::vector<float>> RoundInputs(int n, int salt) {
  std::vector<std::vector<float>> xs(n, std::vector<float>(kParams));
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < kParams; ++i) xs[r][i] = 0.125f * ((r + 1) * (i + salt) % 13) - 0.5f;
  }
  return xs;
}

TEST_F(DistServerTest, SyncEasgdRounds) {
  const int n = 3;
  const float alpha = 0.25f;
  StartServer(n, 20000, alpha, "sync-easgd");
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  std::vector<float> c = Initial();
  for (int round = 0; round < 3; ++round) {
    const auto xs = RoundInputs(n, round);
    const auto results = RunRound(&clients, xs);
    // Workers get the old center; the center becomes c + a sum_i (x_i - c).
    for (int r = 0; r < n; ++r) EXPECT_EQ(results[r], c) << "round " << round << " rank " << r;
    std::vector<float> expected(kParams);
    for (int i = 0; i < kParams; ++i) {
      float diff = 0;
      for (int r = 0; r < n; ++r) diff += xs[r][i] - c[i];
      expected[i] = c[i] + alpha * diff;
    }
    const std::vector<float> center = server_->CenterForTest();
    for (int i = 0; i < kParams; ++i) EXPECT_FLOAT_EQ(center[i], expected[i]) << i;
    c = center;
  }
}

TEST_F(DistServerTest, ModelAveragingRounds) {
  const int n = 4;
  StartServer(n, 20000, 0.25f, "model-averaging");
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  for (int round = 0; round < 2; ++round) {
    const auto xs = RoundInputs(n, round + 5);
    std::vector<float> mean(kParams, 0.f);
    for (int i = 0; i < kParams; ++i) {
      for (int r = 0; r < n; ++r) mean[i] += xs[r][i];
      mean[i] /= n;
    }
    const auto results = RunRound(&clients, xs);
    for (int r = 0; r < n; ++r) EXPECT_EQ(results[r], mean) << "rank " << r;
    EXPECT_EQ(server_->CenterForTest(), mean);
  }
}

TEST_F(DistServerTest, SyncSgdReturnsTheAverageAndKeepsTheCenter) {
  const int n = 2;
  StartServer(n, 20000, 0.25f, "sync-sgd");
  std::vector<std::unique_ptr<ParamClient>> clients;
  for (int r = 0; r < n; ++r) clients.push_back(NewClient());
  const auto xs = RoundInputs(n, 2);
  const auto results = RunRound(&clients, xs);
  std::vector<float> mean(kParams);
  for (int i = 0; i < kParams; ++i) mean[i] = (xs[0][i] + xs[1][i]) / 2;
  EXPECT_EQ(results[0], mean);
  EXPECT_EQ(results[1], mean);
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

TEST_F(DistServerTest, SilentRankIsDroppedAndTheRoundCompletes) {
  StartServer(2, /*heartbeat_ms=*/600, 0.25f, "model-averaging");
  auto live = NewClient();
  auto silent = NewClient();
  ASSERT_NE(live->rank(), silent->rank());
  std::atomic<bool> stop{false};
  std::thread beats([&] {
    HeartbeatClient hb(server_->control_endpoint(), live->transport(), live->rank());
    while (!stop) {
      pb::WorkerMetrics m;
      m.set_rank(live->rank());
      pb::ControlReply reply;
      hb.Send(m, live->session(), &reply, 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const std::vector<float> x = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f};
  std::vector<float> result(kParams, 0.f);
  const auto start = std::chrono::steady_clock::now();
  live->Call(Kind::SYNC, x.data(), result.data(), nullptr);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  beats.join();
  // The round waited for the silent rank until it was dropped, then
  // averaged over the one live worker.
  EXPECT_EQ(result, x);
  EXPECT_EQ(server_->CenterForTest(), x);
  EXPECT_GE(waited, 0.3);
  EXPECT_LT(waited, 8.0);
}

// A keyed peer that reports an iteration past max_iter (2^31 - 1 once hung
// the server: the tester stepped its next test towards it and overflowed)
// is refused, in a heartbeat and in a push, and the center's iteration
// does not move; honest requests still work afterwards.
TEST_F(DistServerTest, IterationsPastMaxIterAreRefused) {
  StartServer(1);  // max_iter 100
  auto client = NewClient();
  HeartbeatClient hb(server_->control_endpoint(), client->transport(), client->rank());
  pb::WorkerMetrics m;
  m.set_rank(client->rank());
  m.set_iter(std::numeric_limits<int32_t>::max());
  pb::ControlReply reply;
  try {
    hb.Send(m, client->session(), &reply, 2000);
    ADD_FAILURE() << "a heartbeat at iteration 2^31-1 was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_iter"), std::string::npos) << e.what();
  }
  std::vector<float> x = Initial();
  client->set_iter(std::numeric_limits<int32_t>::max());
  try {
    AsyncElastic(*client, x.data(), 0.25f, 1.f);
    ADD_FAILURE() << "a push at iteration 2^31-1 was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_iter"), std::string::npos) << e.what();
  }
  EXPECT_LE(server_->center_iter(), 100);
  m.set_iter(40);
  EXPECT_EQ(hb.Send(m, client->session(), &reply, 2000), HeartbeatClient::Outcome::OK);
  client->set_iter(50);
  AsyncElastic(*client, x.data(), 0.25f, 1.f);
  EXPECT_EQ(server_->center_iter(), 50);
}

// A push with a NaN (or an Inf) would poison the center for every worker:
// the shard refuses it, the pusher is told why, the center is unchanged.
TEST_F(DistServerTest, NonFinitePushesAreRefused) {
  StartServer(1);
  auto client = NewClient();
  for (float poison : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    // A delta of zeros but one value (shard 0's finite part changes nothing).
    std::vector<float> x(kParams, 0.f);
    x[5] = poison;
    client->set_iter(10);
    try {
      client->Call(Kind::PUSH, x.data(), nullptr, nullptr);
      ADD_FAILURE() << "a push carrying " << poison << " was taken";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    }
    EXPECT_EQ(server_->CenterForTest(), Initial());
  }
}

// The job key file: written 0600 from the start through a fresh name, so a
// symlink planted at its path is replaced rather than written through; a key
// file readable by group or others is refused.
TEST(DistJobKeyTest, KeyFilesArePrivate) {
  TempDir dir;
  const std::string path = dir / "job.key";
  const std::string victim = dir / "victim";
  { std::ofstream(victim) << "not a key\n"; }
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  const JobKey key = GenerateJobKey();
  WriteJobKey(key, path);
  struct stat info;
  ASSERT_EQ(lstat(path.c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode)) << "the symlink was written through";
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream in(victim);
  std::string victim_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(victim_text, "not a key\n");
  EXPECT_EQ(ReadJobKey(path).client_secret, key.client_secret);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  try {
    ReadJobKey(path);
    ADD_FAILURE() << "a key file of mode 0644 was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
  }
  // No temporary is left beside it.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 2);
}

// Finite pushes can still overflow the center to Inf: the job then fails
// instead of reporting scores of it and saving it as the final model.
TEST_F(DistServerTest, ANonFiniteCenterIsNoResult) {
  StartServer(1);
  auto client = NewClient();
  std::vector<float> huge(kParams, 3e38f);
  client->set_iter(10);
  client->Call(Kind::PUSH, huge.data(), nullptr, nullptr);
  client->set_iter(20);
  client->Call(Kind::PUSH, huge.data(), nullptr, nullptr);
  EXPECT_TRUE(std::isinf(server_->CenterForTest()[0]));
  HeartbeatClient hb(server_->control_endpoint(), client->transport(), client->rank());
  pb::WorkerMetrics m;
  m.set_rank(client->rank());
  m.set_iter(20);
  m.set_done(true);
  pb::ControlReply reply;
  hb.Send(m, client->session(), &reply, 2000);
  try {
    server_->Wait();
    ADD_FAILURE() << "a job whose center is Inf ended as a success";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN or infinite"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "tiny_iter_20.caffemodel"));
}

// An unwritable snapshot folder fails the server at start, not at the end
// of training.
TEST_F(DistServerTest, UnwritableSnapshotFolderFailsAtStart) {
  ServerOptions opt = TinyJob(1);
  opt.solver.set_snapshot_prefix(dir_ / "no/such/folder/tiny");
  ParameterServer server(opt);
  try {
    server.Start();
    ADD_FAILURE() << "the server started with an unwritable snapshot folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("snapshot_prefix"), std::string::npos) << e.what();
  }
}

TEST_F(DistServerTest, WrongKeyCannotJoinOrPull) {
  StartServer(1);
  auto good = NewClient();  // to learn a shard endpoint
  const JobKey other = GenerateJobKey();
  // A foreign job key altogether, and the right server key with a foreign
  // client keypair: both are refused.
  JobKey foreign_client = key_;
  foreign_client.client_public = other.client_public;
  foreign_client.client_secret = other.client_secret;
  for (const JobKey& bad : {other, foreign_client}) {
    ParamClient intruder(server_->control_endpoint(), bad, -1,
                         /*rejoin_timeout_s=*/1);
    EXPECT_THROW(intruder.Join(), Error);
    // Raw messages on a shard, each on a fresh socket: no answer comes.
    const std::string shard = good->spec().shard_endpoint(0);
    auto transport = MakeZmqTransport(bad);
    Header h;
    h.kind = static_cast<uint16_t>(Kind::PULL);
    h.rank = good->rank();
    h.shard = 0;
    std::vector<std::string> frames;
    {
      auto raw = transport->Connect(shard);
      raw->Send({{&h, sizeof(h)}});
      EXPECT_FALSE(raw->Receive(&frames, 500));
    }
    {
      // A push with the foreign key does not reach the center.
      std::vector<float> delta(4, 100.f);
      h.kind = static_cast<uint16_t>(Kind::PUSH);
      h.count = 4;
      auto raw = transport->Connect(shard);
      raw->Send({{&h, sizeof(h)}, {delta.data(), delta.size() * sizeof(float)}});
      EXPECT_FALSE(raw->Receive(&frames, 500));
    }
  }
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

// A rank is its holder's: a second worker asking for a live rank waits (it
// is told BUSY and asks again) until the holder is gone; the holder itself
// rejoins at once with its ticket; only the holding join's heartbeats count,
// so no other peer can keep the rank alive or mark it done.
TEST_F(DistServerTest, ALiveRankBelongsToTheWorkerHoldingIt) {
  StartServer(2, /*heartbeat_ms=*/1500);
  auto holder = NewClient(0);
  const uint32_t first_session = holder->session();
  // The holder's rejoin (its answers were lost, say) is welcomed at once.
  holder->RequestRejoin();
  std::vector<float> x(kParams);
  const auto t0 = std::chrono::steady_clock::now();
  holder->PullCenter(x.data());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_GT(holder->session(), first_session);
  // A heartbeat of the earlier join, or of a stranger, does not speak for it.
  HeartbeatClient hb(server_->control_endpoint(), holder->transport(), 0);
  pb::WorkerMetrics m;
  m.set_rank(0);
  m.set_iter(5);
  m.set_done(true);
  pb::ControlReply reply;
  EXPECT_EQ(hb.Send(m, first_session, &reply), HeartbeatClient::Outcome::NOT_MEMBER);
  EXPECT_EQ(hb.Send(m, 12345, &reply), HeartbeatClient::Outcome::NOT_MEMBER);
  m.set_done(false);
  EXPECT_EQ(hb.Send(m, holder->session(), &reply), HeartbeatClient::Outcome::OK);
  // A second worker asking for rank 0 gets it only once the holder is
  // silent for the heartbeat timeout (this test's clients send no more).
  const auto t1 = std::chrono::steady_clock::now();
  auto second = NewClient(0);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  EXPECT_EQ(second->rank(), 0);
  EXPECT_GT(waited, 0.5) << "a live rank was handed to a second worker";
  // And one that gives up early is told why.
  auto third = std::make_unique<ParamClient>(server_->control_endpoint(), key_, 0, 1);
  try {
    third->Join();
    ADD_FAILURE() << "a live rank was handed to a third worker";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("held by a live worker"), std::string::npos) << e.what();
  }
}

// The tester's rank is the server's: a PULL under it without the tester's
// ticket is refused, whoever holds the job key.
TEST_F(DistServerTest, TheTestersRankIsTheServers) {
  StartServer(1);
  auto client = NewClient();
  auto transport = MakeZmqTransport(key_);
  auto shard = transport->Connect(client->spec().shard_endpoint(0));
  Header pull;
  pull.kind = static_cast<uint16_t>(Kind::PULL);
  pull.rank = -2;
  pull.shard = 0;
  pull.seq = client->spec().ticket();  // a worker's ticket is not the tester's
  shard->Send({{&pull, sizeof(pull)}});
  std::vector<std::string> reply;
  ASSERT_TRUE(shard->Receive(&reply, 3000));
  const Header h = ParseHeader(reply[0]);
  EXPECT_EQ(h.kind, static_cast<uint16_t>(Kind::ERROR));
  EXPECT_EQ(h.seq, static_cast<uint64_t>(ErrorCode::NOT_MEMBER));
  EXPECT_EQ(server_->CenterForTest(), Initial());  // the real tester pulls
}

class DistServerMessageTest : public DistServerTest {
 protected:
  void SetUp() override {
    StartServer(1);
    client_ = NewClient();
    transport_ = MakeZmqTransport(key_);
    raw_ = transport_->Connect(client_->spec().shard_endpoint(0));
    n0_ = client_->spec().shard_begin(1);  // floats in shard 0
    ASSERT_EQ(n0_, kParams / 2);
  }
  Header PushHeader(uint64_t count) const {
    Header h;
    h.kind = static_cast<uint16_t>(Kind::PUSH);
    h.rank = client_->rank();
    h.shard = 0;
    h.count = count;
    return h;
  }
  // Sends raw frames on shard 0; returns the answer's kind (0 if none).
  uint16_t Ask(const std::vector<Frame>& frames, std::string* payload = nullptr) {
    raw_->Send(frames);
    std::vector<std::string> reply;
    if (!raw_->Receive(&reply, 3000) || reply.empty()) return 0;
    Header h;
    try {
      h = ParseHeader(reply[0]);
    } catch (const ProtocolError&) {
      return 0;
    }
    if (payload && reply.size() > 1) *payload = reply[1];
    return h.kind;
  }
  std::unique_ptr<ParamClient> client_;
  std::shared_ptr<Transport> transport_;
  std::unique_ptr<Connection> raw_;
  int64_t n0_ = 0;
};

constexpr uint16_t kError = static_cast<uint16_t>(Kind::ERROR);

TEST_F(DistServerMessageTest, ValidPushOfZerosIsAcknowledged) {
  // The raw socket and rank are accepted, so the refusals below are about
  // the messages themselves.
  std::vector<float> zeros(n0_, 0.f);
  const Header h = PushHeader(n0_);
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {zeros.data(), zeros.size() * 4}}),
            static_cast<uint16_t>(Kind::PUSH_ACK));
  Header p;
  p.kind = static_cast<uint16_t>(Kind::PULL);
  p.rank = client_->rank();
  p.shard = 1;
  Connection* shard1 = client_->caller().connection(1);
  shard1->Send({{&p, sizeof(p)}});
  std::vector<std::string> reply;
  ASSERT_TRUE(shard1->Receive(&reply, 3000));
  EXPECT_EQ(ParseHeader(reply[0]).kind, static_cast<uint16_t>(Kind::CENTER));
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

TEST_F(DistServerMessageTest, TruncatedHeaderIsRefused) {
  const Header h = PushHeader(n0_);
  std::vector<float> delta(n0_, 1.f);
  std::string what;
  EXPECT_EQ(Ask({{&h, sizeof(h) - 1}, {delta.data(), delta.size() * 4}}, &what), kError);
  EXPECT_NE(what.find("header"), std::string::npos) << what;
  EXPECT_EQ(Ask({{&h, 12}}), kError);
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

TEST_F(DistServerMessageTest, ShortOrWrongShapePushIsRefused) {
  std::vector<float> delta(n0_ + 1, 1.f);
  // Payload shorter than the shard (the header claims the right count).
  Header h = PushHeader(n0_);
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), static_cast<size_t>((n0_ - 1) * 4)}}), kError);
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), static_cast<size_t>(n0_ * 4 - 2)}}), kError);
  // No payload at all.
  EXPECT_EQ(Ask({{&h, sizeof(h)}}), kError);
  // Count and payload agree with each other but not with the shard.
  h = PushHeader(n0_ + 1);
  std::string what;
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), static_cast<size_t>((n0_ + 1) * 4)}}, &what),
            kError);
  EXPECT_NE(what.find("shape"), std::string::npos) << what;
  h = PushHeader(n0_ - 1);
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), static_cast<size_t>((n0_ - 1) * 4)}}), kError);
  // A SYNC of the wrong shape, too.
  h = PushHeader(n0_ + 1);
  h.kind = static_cast<uint16_t>(Kind::SYNC);
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), static_cast<size_t>((n0_ + 1) * 4)}}), kError);
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

TEST_F(DistServerMessageTest, BadMagicOrVersionIsRefused) {
  std::vector<float> delta(n0_, 1.f);
  Header h = PushHeader(n0_);
  h.magic = 0x12345678;
  std::string what;
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), delta.size() * 4}}, &what), kError);
  EXPECT_NE(what.find("magic"), std::string::npos) << what;
  h = PushHeader(n0_);
  h.version = kProtocolVersion + 1;
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), delta.size() * 4}}, &what), kError);
  EXPECT_NE(what.find("version"), std::string::npos) << what;
  h = PushHeader(n0_);
  h.kind = 77;
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {delta.data(), delta.size() * 4}}), kError);
  // Also at the control endpoint.
  auto control = transport_->Connect(server_->control_endpoint());
  Header hello;
  hello.kind = static_cast<uint16_t>(Kind::HELLO);
  hello.magic = 0;
  control->Send({{&hello, sizeof(hello)}});
  std::vector<std::string> reply;
  ASSERT_TRUE(control->Receive(&reply, 3000));
  EXPECT_EQ(ParseHeader(reply[0]).kind, kError);
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

// A frame larger than anything the endpoint takes is refused by the
// transport before it is buffered (the sender's connection is dropped): no
// answer, nothing applied, and the server goes on serving.
TEST_F(DistServerMessageTest, OversizedFramesAreNeverTaken) {
  std::vector<float> huge(1 << 20, 1.f);  // 4 MB against a shard of 4 floats
  const Header h = PushHeader(huge.size());
  EXPECT_EQ(Ask({{&h, sizeof(h)}, {huge.data(), huge.size() * 4}}), 0);
  auto control = transport_->Connect(server_->control_endpoint());
  Header hello;
  hello.kind = static_cast<uint16_t>(Kind::HELLO);
  hello.count = huge.size() * 4;
  control->Send({{&hello, sizeof(hello)}, {huge.data(), huge.size() * 4}});
  std::vector<std::string> reply;
  EXPECT_FALSE(control->Receive(&reply, 500));
  std::vector<float> pulled(kParams);
  client_->PullCenter(pulled.data());
  EXPECT_EQ(pulled, Initial());
  EXPECT_EQ(server_->CenterForTest(), Initial());
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark
