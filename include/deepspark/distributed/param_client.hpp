// A worker's connection to the parameter server: joins the job, then
// exchanges parameters with all center shards in parallel (requests to every
// shard go out before any answer is awaited). Outgoing tensors are sent
// without copies, straight from the caller's buffers, which must not change
// until the call returns.
//
// Lost servers: a request that gets no answer within its timeout, or an
// answer saying this rank is no longer a member, makes the client rejoin
// (a restarted server hands out new shard endpoints) and retry, until
// rejoin_timeout_s passes; then it throws deepspark::Error.
//
// Thread safety: one thread per ParamClient; HeartbeatClient is separate.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/distributed/protocol.hpp"
#include "deepspark/proto/deepspark.pb.h"

namespace deepspark {
namespace distributed {

struct ClientStats {
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  int64_t exchanges = 0;
  double exchange_ms_total = 0;
  double staleness_total = 0;  // async: center updates between pull and push
};

class ParamClient {
 public:
  ParamClient(std::string control_endpoint, JobKey key, int requested_rank,
              int rejoin_timeout_s = 120);
  ~ParamClient();

  // Joins (or rejoins under the same rank) and returns the job.
  const pb::JobSpec& Join();
  const pb::JobSpec& spec() const { return spec_; }
  int rank() const { return spec_.rank(); }

  // The whole center, assembled from the shards.
  void PullCenter(float* out);
  // Asynchronous EASGD: pull c, x -= a (x - c), push f a (x - c).
  void AsyncElastic(float* x, float alpha, float factor);
  // Sets the center to x (a replacing push; for sync SGD, where all workers
  // hold the same x, so concurrent mirrors agree); x is unchanged.
  void Mirror(const float* x);
  // A synchronous round of `mode`: sends contribution, waits until every
  // live worker has sent theirs, writes the round's result.
  void SyncRound(pb::Mode mode, const float* contribution, float* result);

  const ClientStats& stats() const { return stats_; }
  // The worker's iteration, sent with every push and round so the server's
  // center iteration (tests, snapshots) follows within one exchange.
  void set_iter(int iter) { iter_ = iter; }
  // Set by the heartbeat thread when the server forgot this rank.
  void RequestRejoin() { rejoin_requested_ = true; }

  // Test hooks: send one raw shard message and return the reply frames.
  std::vector<std::string> RawShardRequest(int shard, const Header& header,
                                           const std::string& payload, int timeout_ms);

 private:
  struct Reply {
    Header header;
    std::string payload;
  };
  // Sends one message per shard (payload s = floats [begin_s, end_s) of
  // `data`, or none) and collects every answer. False when an answer did not
  // come in time or was an ERROR (then the exchange is redone after rejoin).
  bool RoundTrip(Kind kind, uint32_t mode, const std::vector<const float*>& payloads,
                 const std::vector<uint64_t>& seqs, int timeout_ms, std::vector<Reply>* replies);
  void ConnectShards();
  int64_t ShardBegin(int s) const;
  int64_t ShardEnd(int s) const;
  template <typename Fn>
  void WithRetry(const char* what, Fn fn);

  std::string control_endpoint_;
  JobKey key_;
  int requested_rank_;
  int rejoin_timeout_s_;
  pb::JobSpec spec_;
  std::vector<std::unique_ptr<Socket>> shard_sockets_;
  std::vector<float> scratch_;
  std::vector<float> delta_;
  ClientStats stats_;
  int iter_ = 0;
  // Written by the heartbeat thread, read by the training thread.
  std::atomic<bool> rejoin_requested_{false};
};

// Sends heartbeats (with the worker's metrics) on its own socket.
class HeartbeatClient {
 public:
  HeartbeatClient(std::string control_endpoint, JobKey key, int rank);
  ~HeartbeatClient();
  // False when no answer came in time.
  bool Send(const pb::WorkerMetrics& metrics, pb::ControlReply* reply, int timeout_ms = 2000);
  void set_endpoint(const std::string& endpoint) { control_endpoint_ = endpoint; }

 private:
  void Reconnect();
  std::string control_endpoint_;
  JobKey key_;
  int rank_;
  std::unique_ptr<Socket> socket_;
};

// Shard endpoints bound on a wildcard address are reached at the control
// endpoint's host.
std::string ResolveShardEndpoint(const std::string& shard_endpoint,
                                 const std::string& control_endpoint);

}  // namespace distributed
}  // namespace deepspark
