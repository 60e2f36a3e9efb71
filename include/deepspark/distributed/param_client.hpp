// A worker's connection to the parameter server: joins the job, then makes
// the calls of its exchange rule (exchange_rule.hpp) to all center shards in
// parallel (every shard's request goes out before any answer is awaited).
//
// Lost messages: a shard that has not answered within the resend time
// (ShardCaller::ResendMs: the transport's, or 4x this kind of call's recent
// duration, whichever is longer; never over ZeroMQ, whose TCP loses nothing
// while the connection lives) gets the same request again
// (same session and request id; the shard answers a repeat from its record,
// so nothing is applied twice). Lost server: a call that gets no complete
// answer for long (GiveUpMs: kAsyncGiveUpMs, or kSyncGiveUpMs for a round,
// which waits for the slowest worker, plus 3x the time the model takes at
// kSlowestLinkMBps, and at least 20x the call's recent duration), or an
// answer saying this rank is no longer a member, makes the client rejoin (a
// restarted server hands out new shard endpoints) and make the call again,
// until rejoin_timeout_s passes; then it throws deepspark::Error.
//
// Thread safety: one thread per ParamClient (the training thread), except
// RequestRejoin (any thread). ShardCaller, HeartbeatClient: one thread each.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"
#include "deepspark/proto/deepspark.pb.h"

namespace deepspark {
namespace distributed {

constexpr int kAsyncGiveUpMs = 10000;
constexpr int kSyncGiveUpMs = 60000;
constexpr double kSlowestLinkMBps = 5;

struct ClientStats {
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  int64_t exchanges = 0;
  int64_t resends = 0;
  double exchange_ms_total = 0;
  double staleness_total = 0;  // async: center updates between pull and push
};

// Calls to every shard of a job at once, with request ids and resends; no
// joining (ParamClient adds that; the server's tester uses this alone).
class ShardCaller {
 public:
  explicit ShardCaller(std::shared_ptr<Transport> transport) : transport_(std::move(transport)) {}
  // (Re)connects to the shards of `spec` (reached via `control_endpoint`).
  void Connect(const pb::JobSpec& spec, const std::string& control_endpoint);

  enum class Outcome { OK, NOT_MEMBER, NO_ANSWER };
  // One call (see CenterLink::Call). NO_ANSWER after give_up_ms without
  // every answer, or as soon as *abandon is true; NOT_MEMBER when a shard
  // said so. A shard that refuses the request otherwise throws Error.
  Outcome Call(Kind kind, const float* tensor, float* result, std::vector<uint64_t>* seqs,
               int give_up_ms, const std::atomic<bool>* abandon = nullptr);

  // Milliseconds before a request of `kind` is sent again, and before the
  // call is given up (see the top of this file).
  int ResendMs(Kind kind) const;
  int GiveUpMs(Kind kind) const;
  // The iteration every request carries (it advances the center's).
  void set_iter(int iter) { iter_ = iter; }
  int num_shards() const { return static_cast<int>(connections_.size()); }
  int64_t ShardBegin(int s) const { return spec_.shard_begin(s); }
  int64_t ShardEnd(int s) const;
  ClientStats& stats() { return stats_; }
  // Test hook: the connection to shard s (raw messages).
  Connection* connection(int s) { return connections_[s].get(); }

 private:
  void SendRequest(int shard, const Header& header, const float* tensor, bool zero_copy);

  std::shared_ptr<Transport> transport_;
  pb::JobSpec spec_;
  std::vector<std::unique_ptr<Connection>> connections_;
  uint64_t next_request_id_ = 1;
  int iter_ = 0;
  double recent_ms_[16] = {0};  // by Kind: moving average of completed calls
  ClientStats stats_;
};

class ParamClient : public CenterLink {
 public:
  // `transport` null: ZeroMQ with `key`.
  ParamClient(std::string control_endpoint, JobKey key, int requested_rank,
              int rejoin_timeout_s = 120, std::shared_ptr<Transport> transport = nullptr);
  ~ParamClient() override;

  // Joins (or rejoins under the same rank) and returns the job.
  const pb::JobSpec& Join();
  const pb::JobSpec& spec() const { return spec_; }
  int rank() const { return spec_.rank(); }

  // CenterLink.
  int64_t param_count() const override { return spec_.param_count(); }
  void Call(Kind kind, const float* tensor, float* result, std::vector<uint64_t>* seqs) override;
  void NoteStaleness(double updates) override { caller_.stats().staleness_total += updates; }

  // The whole center, assembled from the shards.
  void PullCenter(float* out) { Call(Kind::PULL, nullptr, out, nullptr); }
  // Counts one exchange of `ms` milliseconds in the stats.
  void CountExchange(double ms);

  const ClientStats& stats() { return caller_.stats(); }
  // The worker's iteration, sent with every push and round so the server's
  // center iteration (tests, snapshots) follows within one exchange.
  void set_iter(int iter) { caller_.set_iter(iter); }
  // Any thread (the heartbeat thread when the server forgot this rank): the
  // call under way stops waiting and rejoins.
  void RequestRejoin() { rejoin_requested_ = true; }
  // The session of the join held now (heartbeats carry it). Any thread.
  uint32_t session() const { return session_; }
  std::shared_ptr<Transport> transport() const { return transport_; }
  // Test hook: the shards' connections.
  ShardCaller& caller() { return caller_; }

 private:
  std::string control_endpoint_;
  JobKey key_;
  int requested_rank_;
  int rejoin_timeout_s_;
  std::shared_ptr<Transport> transport_;
  pb::JobSpec spec_;
  ShardCaller caller_;
  std::atomic<bool> rejoin_requested_{false};
  std::atomic<uint32_t> session_{0};
};

// Sends heartbeats (with the worker's metrics) on its own connection.
class HeartbeatClient {
 public:
  HeartbeatClient(std::string control_endpoint, std::shared_ptr<Transport> transport, int rank);
  ~HeartbeatClient();
  enum class Outcome { OK, NOT_MEMBER, NO_ANSWER };
  // Speaks for the join `session` (ParamClient::session) of the rank.
  Outcome Send(const pb::WorkerMetrics& metrics, uint32_t session, pb::ControlReply* reply,
               int timeout_ms = 2000);

 private:
  std::string control_endpoint_;
  std::shared_ptr<Transport> transport_;
  int rank_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace distributed
}  // namespace deepspark
