// A shard server: a process that holds part of the center for a parameter
// server started with --shard-servers M, as ps-lite splits its key space
// over server nodes. The center's shards are spread over 1 + M processes
// (shard s in process s mod (1 + M)), so the bytes of every exchange and
// the work of the rule are spread over as many hosts and links.
//
// It registers at the server's control endpoint, gets its key ranges with
// their initial values and the rule, binds one port per shard at --listen's
// host, and reports the endpoints. From then on it polls the control
// endpoint (a poll is held there until the membership changes, or 200 ms):
// the answers carry the live ranks, which its shards take before the
// server welcomes a new rank, and the center's iteration (rates decay with
// it). Workers and the server's tester reach its shards directly; the
// server never relays tensors.
//
// Its life is the job's: it returns when the server says the job is over,
// and throws deepspark::Error when it loses the server (no answer to polls
// for give_up_ms) or a shard thread fails. The server, for its part, ends
// the job with an error when a shard server goes silent: the center is not
// complete without it (no job-level recovery of a lost shard server).
//
// Thread safety: Run from one thread; Stop from any.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"

namespace deepspark {
namespace distributed {

struct ShardServerOptions {
  std::string server;  // the parameter server's control endpoint
  // Where the shards listen: tcp://HOST:PORT with the host workers reach
  // this machine at (a wildcard cannot be handed to them); each shard binds
  // its own port on that host (PORT is ignored, as for the server's shards).
  std::string listen;
  JobKey key;
  std::string source_address;  // local IP the control connection leaves from
  // Null: ZeroMQ with `key` (and source_address). Tests: an in-process node.
  std::shared_ptr<Transport> transport;
  int give_up_ms = 30000;  // the server is lost after this long without an answer
  bool quiet = false;
};

struct ShardServerResult {
  int process = 0;  // its number in the job (1..M)
  int shards = 0;
  int64_t floats = 0;  // of the center it held
  int center_iter = 0;
};

class ShardServer {
 public:
  explicit ShardServer(ShardServerOptions options);
  ~ShardServer();
  ShardServer(const ShardServer&) = delete;
  ShardServer& operator=(const ShardServer&) = delete;

  // Registers, serves its shards until the job ends, and returns. Throws
  // deepspark::Error (the server refused it, was lost, or sent nonsense).
  ShardServerResult Run();
  // Stops serving at once (tests: a shard server that dies).
  void Stop() { stop_ = true; }

  struct Impl;

 private:
  ShardServerOptions options_;
  std::atomic<bool> stop_{false};
};

}  // namespace distributed
}  // namespace deepspark
