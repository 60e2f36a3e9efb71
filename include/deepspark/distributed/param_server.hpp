// The parameter server: holds the center variable of elastic averaging SGD
// in S shards (contiguous ranges of the flat parameter vector, in
// Net::learnable_params() order), each owned by one thread with its own
// socket, so no lock is shared between workers and no worker waits for
// another in the asynchronous mode. The shards may be spread over shard
// servers, other processes on other hosts (ServerOptions::shard_servers). It also owns the job:
// hands out ranks, partitions and the solver; tracks membership by heartbeats (a silent worker is
// dropped; a synchronous round then completes without it); runs the solver's test nets on the
// center every test_interval (the tester); answers requests once each however often they are
// resent; writes snapshots of the center (.caffemodel + .serverstate) at the solver's snapshot
// interval and at the end; and logs metrics as JSON lines.
//
// Thread safety: Start/Wait/Stop from one thread; the rest is internal.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/proto/deepspark.pb.h"
#include "deepspark/solver.hpp"

namespace deepspark {
namespace distributed {

// The largest shard: a center of more than this many bytes gets more shards
// (threads) than --server-threads, since ZeroMQ messages above glibc's mmap
// threshold (32 MB at most) fault in every page afresh, which made an
// exchange of AlexNet's 244 MB in 2 shards twice as slow as in 16.
constexpr int64_t kMaxShardBytes = 16 << 20;

// The default lr_power of the elastic rules (ServerOptions::lr_power).
constexpr double kDefaultLrPower = 2.0 / 3.0;

struct ServerOptions {
  caffe::SolverParameter solver;  // as read from the solver file
  std::string solver_path;        // names it in messages
  int num_workers = 1;
  std::string rule = "async-easgd";  // exchange rule, by name (exchange_rule.hpp)
  int tau = 10;
  float moving_rate = -1;       // < 0: 0.9 / num_workers
  pb::DeepSparkParam schedule;  // decay of moving rate / server factor
  // Workers' learning rate with N of them (docs/distributed.md): base_lr
  // times N^lr_power (< 0: the rule's default: N^(2/3) under the elastic
  // rules, N^0 for sync-sgd), and with lr_schedule_by_all > 0 the policy
  // counts the iterations of all N workers (iter * N; default: its own).
  float lr_power = -1;
  int lr_schedule_by_all = -1;
  int server_threads = 2;  // shards per process, at least (see kMaxShardBytes)
  // The center split over 1 + shard_servers processes (shard_server.hpp):
  // this one holds every (1 + M)-th shard, each shard server its share,
  // assigned when it registers. Workers are welcomed once all M are there;
  // if they are not within shard_server_wait_s the job fails, as it does
  // when one stops polling for heartbeat_timeout_ms (its part of the center
  // is gone).
  int shard_servers = 0;
  int shard_server_wait_s = 120;
  std::string listen = "tcp://127.0.0.1:0";
  JobKey key;
  // How workers reach the server; null: ZeroMQ with `key`. Tests give an
  // InProcessNetwork node (and listen = "mem://NAME").
  std::shared_ptr<Transport> transport;
  std::string weights;       // comma-separated .caffemodel to start from
  std::string snapshot;      // .serverstate to resume from
  std::string metrics_path;  // JSON lines; default <prefix>_metrics.jsonl
  int heartbeat_timeout_ms = 10000;
  int idle_timeout_s = 10;  // job ends this long after the last worker left
  // A server resumed from a snapshot waits this long for the first worker
  // to rejoin (workers retry for their --rejoin-timeout, 120 s by default).
  int resume_wait_s = 120;
  // BLAS threads of the tester. The setting is process-wide, and spinning
  // BLAS threads beside busy workers on the same cores slow the tester down
  // by orders of magnitude, so the default is 1 (<= 0: leave it alone).
  int tester_threads = 1;
  int64_t slow_delay_us = 0;  // benchmark only: delay per iteration of slow_rank
  int fail_rank = -1;         // fault injection: this rank's worker errors out
  int fail_after = 0;         // ... after this many of its iterations
  int slow_rank = -1;
  bool quiet = false;  // no console progress lines
  // Benchmarks: end the job once the center's "accuracy" output of test
  // net 0 reaches this (<= 0: never).
  float target_accuracy = 0;
};

struct ServerResult {
  int center_iter = 0;
  std::vector<TestScore> scores;  // the final test of the center
  std::string caffemodel;         // the final snapshot
  double seconds = 0;
  int64_t total_worker_iters = 0;
  // Set when target_accuracy was reached: when, after how many center and
  // worker iterations.
  bool target_reached = false;
  double target_seconds = 0;
  int target_center_iter = 0;
  int64_t target_worker_iters = 0;
};

class ParameterServer {
 public:
  explicit ParameterServer(ServerOptions options);
  ~ParameterServer();
  ParameterServer(const ParameterServer&) = delete;
  ParameterServer& operator=(const ParameterServer&) = delete;

  // Builds the center (fillers, --weights or --snapshot), binds the sockets
  // and starts the threads. Throws deepspark::Error on bad input.
  void Start();
  // The address workers connect to (tcp port resolved).
  std::string control_endpoint() const { return control_endpoint_; }
  // Blocks until the job ends (all workers done, or none left for
  // idle_timeout_s), then runs the final test and snapshot.
  ServerResult Wait();
  // Ends the job early (the final test and snapshot still run).
  void Stop() { stop_requested_ = true; }

  // Test hooks: the current center (a copy, assembled from the shards by
  // pulling like a worker) and the center's iteration.
  std::vector<float> CenterForTest();
  int center_iter() const { return center_iter_; }
  int64_t param_count() const { return param_count_; }

  struct Impl;

 private:
  ServerOptions options_;
  std::string control_endpoint_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> center_iter_{0};
  int64_t param_count_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace distributed
}  // namespace deepspark
