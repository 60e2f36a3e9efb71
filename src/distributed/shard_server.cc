// A shard server (shard_server.hpp): the Shard class of the parameter
// server (param_server.cc) under a host of its own, fed by polls of the
// server's control endpoint.
#include "deepspark/distributed/shard_server.hpp"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;

// How long one wait for an answer lasts before the stop flag is looked at
// (and, on a lossy test network, before the request is sent again).
constexpr int kWaitSliceMs = 50;

bool IsWildcardTcp(const std::string& address) {
  if (address.rfind("tcp://", 0) != 0) return false;
  const std::string rest = address.substr(6);
  const std::string host = rest.substr(0, rest.rfind(':'));
  return host.empty() || host == "*" || host == "0.0.0.0" || host == "[::]" || host == "::";
}
}  // namespace

struct ShardServer::Impl : public ShardHost {
  Impl(const ShardServerOptions& options, const std::atomic<bool>* stop)
      : opt(options), stop(stop) {}

  // ShardHost (shard threads).
  ExchangeRates CurrentRates() const override {
    const pb::DeepSparkParam& s = assignment.schedule();
    ExchangeRates rates;
    rates.alpha = DecayedRate(assignment.moving_rate(), s.decay_rate(), s.decay_step(),
                              s.decay_limit(), center_iter);
    rates.factor = DecayedRate(s.server_factor(), s.factor_decay_rate(), s.factor_decay_step(),
                               s.factor_decay_limit(), center_iter);
    return rates;
  }
  bool closing() const override { return closing_; }
  int max_iter() const override { return assignment.max_iter(); }
  void AdvanceCenterIter(int worker_iter) override {
    int now = center_iter;
    while (worker_iter > now && !center_iter.compare_exchange_weak(now, worker_iter)) {
    }
  }
  void CountRejected() override { ++rejected; }
  void CountDuplicate() override { ++duplicates; }
  uint64_t tester_ticket() const override { return assignment.tester_ticket(); }

  // One request to the control endpoint and its answer (frames), resent on
  // a lossy transport. False when asked to stop first; throws when the
  // server refuses it or does not answer within give_up_ms.
  bool Ask(Kind kind, const std::string& payload, Kind expected, std::vector<std::string>* reply);
  ShardServerResult Run();

  const ShardServerOptions& opt;
  const std::atomic<bool>* const stop;
  std::shared_ptr<Transport> transport;
  std::unique_ptr<Connection> control;
  uint64_t next_request_id = 1;
  pb::ShardAssignment assignment;  // const once the shards run
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<int> center_iter{0};
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> rejected{0}, duplicates{0};
  std::mutex failure_mutex;
  std::string failure;  // under failure_mutex: the first shard thread's error
};

bool ShardServer::Impl::Ask(Kind kind, const std::string& payload, Kind expected,
                            std::vector<std::string>* reply) {
  Header header;
  header.kind = static_cast<uint16_t>(kind);
  header.request_id = next_request_id++;
  header.count = payload.size();
  const auto give_up = Clock::now() + std::chrono::milliseconds(opt.give_up_ms);
  const int resend_ms = transport->resend_ms();
  auto sent = Clock::now();
  control->Send({{&header, sizeof(header)}, {payload.data(), payload.size()}});
  while (true) {
    if (*stop) return false;
    const auto now = Clock::now();
    REQUIRE(now < give_up) << "lost the parameter server at " << opt.server << ": no answer to "
                           << KindName(kind) << " for " << opt.give_up_ms / 1000.0 << " s";
    if (resend_ms >= 0 && now - sent > std::chrono::milliseconds(resend_ms)) {
      control->Send({{&header, sizeof(header)}, {payload.data(), payload.size()}});
      sent = now;
    }
    if (!control->Receive(reply, kWaitSliceMs)) continue;
    Header answer;
    try {
      answer = ParseHeader(reply->empty() ? std::string() : (*reply)[0]);
    } catch (const ProtocolError& e) {
      LOG(WARNING) << "malformed answer from " << opt.server << ": " << e.what();
      continue;
    }
    if (answer.request_id != header.request_id) continue;  // an earlier request's
    const std::string text = reply->size() > 1 ? (*reply)[1] : std::string();
    REQUIRE(answer.kind != static_cast<uint16_t>(Kind::ERROR))
        << "the parameter server at " << opt.server << " refused " << KindName(kind) << ": "
        << EscapeForLog(text, 1000);
    REQUIRE(answer.kind == static_cast<uint16_t>(expected) && reply->size() >= 2)
        << "the parameter server at " << opt.server << " answered " << KindName(kind) << " with "
        << KindName(static_cast<Kind>(answer.kind)) << ", expected " << KindName(expected);
    return true;
  }
}

ShardServerResult ShardServer::Impl::Run() {
  REQUIRE(!opt.server.empty()) << "shard-server needs --server (the parameter server's address)";
  REQUIRE(!opt.listen.empty() && !IsWildcardTcp(opt.listen))
      << "shard-server needs --listen tcp://HOST:0 with the address workers reach this host at "
         "(not '"
      << opt.listen << "': a wildcard cannot be handed to them)";
  transport = opt.transport ? opt.transport : MakeZmqTransport(opt.key, opt.source_address);
  control = transport->Connect(opt.server);
  ShardServerResult result;

  // Join: which shards, with what values, under which rule.
  pb::ShardServerHello hello;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  hello.set_pid(getpid());
  hello.set_host(host);
  hello.set_nonce(RandomNonce());
  std::string bytes;
  hello.SerializeToString(&bytes);
  std::vector<std::string> reply;
  if (!Ask(Kind::SHARD_JOIN, bytes, Kind::SHARD_ASSIGN, &reply)) return result;
  REQUIRE(assignment.ParseFromString(reply[1])) << "malformed SHARD_ASSIGN from " << opt.server;
  const int n = assignment.shard_size();
  REQUIRE(n > 0 && assignment.shard_begin_size() == n && assignment.shard_count_size() == n &&
          static_cast<int>(reply.size()) == 2 + n)
      << "SHARD_ASSIGN from " << opt.server << " does not describe its " << n << " shards";
  for (int k = 0; k < n; ++k) {
    // Compared in floats: a count near 2^62 times 4 wraps to a small size.
    const size_t bytes = reply[2 + k].size();
    REQUIRE(assignment.shard(k) >= 0 && assignment.shard_begin(k) >= 0 &&
            assignment.shard_count(k) > 0 && bytes % sizeof(float) == 0 &&
            bytes / sizeof(float) == static_cast<uint64_t>(assignment.shard_count(k)))
        << "SHARD_ASSIGN from " << opt.server << ": shard " << assignment.shard(k) << " of "
        << assignment.shard_count(k) << " floats came with " << bytes << " bytes";
  }
  NewExchangeRule(assignment.rule());  // a rule this build lacks fails here, by name
  result.process = assignment.process();
  result.shards = n;

  std::vector<std::thread> threads;
  auto finish = [&] {
    closing_ = true;
    for (auto& t : threads) t.join();
    threads.clear();
  };
  pb::ShardServerPoll poll;
  poll.set_process(assignment.process());
  try {
    for (int k = 0; k < n; ++k) {
      const float* values = reinterpret_cast<const float*>(reply[2 + k].data());
      std::vector<float> slice(values, values + assignment.shard_count(k));
      result.floats += assignment.shard_count(k);
      shards.push_back(std::make_unique<Shard>(
          this, assignment.shard(k), assignment.shard_begin(k), std::move(slice),
          transport->Listen(transport->ShardAddress(opt.listen, assignment.shard(k)),
                            MaxShardFrameBytes(assignment.shard_count(k))),
          NewExchangeRule(assignment.rule())));
      poll.add_endpoint(shards.back()->address);
    }
    for (auto& shard : shards) {
      Shard* raw = shard.get();
      threads.emplace_back([this, raw] {
        try {
          raw->Run();
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (failure.empty()) failure = e.what();
          closing_ = true;
        }
      });
    }
    if (!opt.quiet) {
      LOG(INFO) << "Shard server " << assignment.process() << ": " << n << " shard(s), "
                << result.floats << " floats of the center, first at " << poll.endpoint(0);
    }
    // Polls until the job ends: each answer's membership reaches the shards
    // before the next poll says it is held (the server welcomes on that).
    uint64_t epoch = 0;
    while (!*stop && !closing_) {
      poll.set_epoch(epoch);
      poll.set_center_iter(center_iter);
      poll.set_rejected_messages(rejected);
      poll.set_duplicate_requests(duplicates);
      poll.SerializeToString(&bytes);
      if (!Ask(Kind::SHARD_POLL, bytes, Kind::SHARD_STATE, &reply)) break;
      pb::ShardServerState state;
      REQUIRE(state.ParseFromString(reply[1])) << "malformed SHARD_STATE from " << opt.server;
      if (state.epoch() > epoch) {
        const std::set<int> live(state.live().begin(), state.live().end());
        for (auto& shard : shards) shard->SetLive(live);
        epoch = state.epoch();
      }
      AdvanceCenterIter(std::min(std::max(0, state.center_iter()), std::max(0, max_iter())));
      if (state.stop()) break;
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  {
    std::lock_guard<std::mutex> lock(failure_mutex);
    REQUIRE(failure.empty()) << "shard server " << assignment.process()
                             << ": a shard thread failed: " << failure;
  }
  result.center_iter = center_iter;
  if (!opt.quiet) {
    LOG(INFO) << "Shard server " << assignment.process() << ": the job is over (center iteration "
              << result.center_iter << ", " << rejected << " messages refused)";
  }
  return result;
}

ShardServer::ShardServer(ShardServerOptions options) : options_(std::move(options)) {}
ShardServer::~ShardServer() = default;

ShardServerResult ShardServer::Run() {
  Impl impl(options_, &stop_);
  return impl.Run();
}

}  // namespace distributed
}  // namespace deepspark
