// Internals of the parameter server, shared by param_server.cc (shards),
// server_control.cc (start-up, membership, the end of the job) and
// server_tester.cc (tests and snapshots of the center). Not a public header.
//
// Threads and who owns what (every field below says which):
//  - the caller's thread: Start, Wait, Shutdown (the "owner" thread);
//  - the control thread: the control port, membership (workers, shard
//    servers), progress;
//  - one thread per shard: that Shard's slice, records, rule and port;
//  - the tester thread: the model and test nets, the result.
// A shard server (shard_server.cc) runs the same Shard class in another
// process, under a ShardHost of its own.
// Fields written by one thread and read by others are atomics or sit under
// the mutex named beside them; fields set in Start before the threads start
// and never written again are marked "const after Start".
#pragma once

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"
#include "deepspark/net.hpp"

namespace deepspark {
namespace distributed {

// The tester pulls the center like a worker, under this rank.
constexpr int kTesterRank = -2;

// The largest frame the control endpoint takes (HELLO, HEARTBEAT and the
// shard servers' messages are all far smaller), and a shard's: its slice.
// Larger frames are refused by the transport before they are buffered
// (transport.hpp), so no peer can make a server hold one.
constexpr int64_t kMaxControlFrameBytes = 1 << 20;
inline int64_t MaxShardFrameBytes(int64_t floats) {
  return floats * static_cast<int64_t>(sizeof(float)) + static_cast<int64_t>(sizeof(Header));
}

// What a shard needs of the process that hosts it: the parameter server,
// or a shard server. Called from shard threads: thread-safe.
class ShardHost {
 public:
  virtual ~ShardHost() = default;
  // The moving rate and server factor now (they decay with the center's
  // iteration).
  virtual ExchangeRates CurrentRates() const = 0;
  // True once the shards are to stop.
  virtual bool closing() const = 0;
  // The job's max_iter: a request from past it is refused.
  virtual int max_iter() const = 0;
  // A worker's iteration seen in a request (the center's is the largest).
  virtual void AdvanceCenterIter(int worker_iter) = 0;
  virtual void CountRejected() = 0;
  virtual void CountDuplicate() = 0;
  // What the tester's PULLs carry (JobSpec.ticket): the tester's rank is
  // the server's own, not anyone's who claims it.
  virtual uint64_t tester_ticket() const = 0;
};

// One contiguous range of the center and the thread that owns it. Requests
// are checked here (header, membership, shape, duplicates; see
// exchange_rule.hpp) and handed to this shard's instance of the rule.
class Shard : public ShardState {
 public:
  Shard(ShardHost* host, int index, int64_t begin, std::vector<float> center,
        std::unique_ptr<Port> port, std::unique_ptr<ExchangeRule> rule);
  // The shard thread's loop, until the server shuts down.
  void Run();
  // Any thread: the ranks now in the job; the shard thread picks them up
  // within one receive timeout and tells the rule.
  void SetLive(const std::set<int>& live);

  // ShardState (the shard thread).
  float* center() override { return center_.data(); }
  size_t size() const override { return center_.size(); }
  uint64_t version() const override { return version_; }
  void BumpVersion() override { ++version_; }
  const std::set<int>& live() const override { return live_; }
  ExchangeRates rates() const override;
  void Answer(const ShardRequest& request, Kind kind, uint64_t seq,
              std::shared_ptr<const std::vector<float>> tensor) override;

  const int index;            // const
  const int64_t begin;        // const: first float of the flat center
  const std::string address;  // const: as bound
  std::thread thread;         // owner thread

 private:
  // The last PUSH/SYNC taken from a rank, and its answer once given.
  struct Record {
    uint32_t session = 0;
    uint64_t request_id = 0;
    std::string peer;  // where the answer goes: whoever asked last
    bool answered = false;
    Kind kind = Kind::ERROR;
    uint64_t seq = 0;
    std::shared_ptr<const std::vector<float>> tensor;
    std::string error;  // the text of an ERROR answer
  };
  void Handle(const std::string& peer, const std::vector<std::string>& frames);
  void Send(const std::string& peer, const Header& request, Kind kind, uint64_t seq,
            const void* data, size_t bytes);
  void SendError(const std::string& peer, const Header& request, ErrorCode code,
                 const std::string& what);
  void SendRecord(const Record& record, int rank);
  void PickUpMembership();

  ShardHost* const host_;
  // The shard thread only:
  std::vector<float> center_;
  uint64_t version_ = 0;
  std::set<int> live_;
  std::map<int, Record> records_;  // by rank
  std::unique_ptr<Port> port_;
  std::unique_ptr<ExchangeRule> rule_;
  // Written by the control thread (SetLive), taken by the shard thread:
  std::mutex pending_mutex_;
  std::set<int> pending_live_;  // under pending_mutex_
  std::atomic<bool> live_changed_{false};
};

struct WorkerState {
  enum State { FREE, LIVE, DEAD, DONE };
  State state = FREE;
  std::chrono::steady_clock::time_point last_heartbeat;
  std::chrono::steady_clock::time_point last_metrics_log;
  int last_iter = 0;
  pb::WorkerMetrics metrics;
  bool ever_joined = false;
  uint64_t hello_nonce = 0;  // of the last join, to answer a repeated HELLO alike
  pb::JobSpec welcome;       // what that join was answered
};

// A shard server of the job (server_shard_servers.cc): the shards it
// hosts and what the control thread knows of it. Control thread only.
struct RemoteShards {
  std::vector<int> shards;                  // global indices (const after Start)
  std::vector<std::vector<float>> initial;  // their slices, until assigned
  bool joined = false;
  uint64_t nonce = 0;  // of its SHARD_JOIN, to answer a resend alike
  std::string host;
  int pid = 0;
  bool ready = false;        // its shards listen (their endpoints are in the spec)
  uint64_t acked_epoch = 0;  // the membership its shards hold
  std::chrono::steady_clock::time_point last_poll;
  int64_t rejected = 0, duplicates = 0;  // as it last reported them
  // A poll held until the membership changes or hold_until passes.
  bool held = false;
  std::string held_peer;
  Header held_header;
  std::chrono::steady_clock::time_point hold_until;
  bool told_stop = false;
};

// A WELCOME that waits until every shard server holds the membership that
// admits its rank (a worker's first request must not find itself missing).
struct PendingWelcome {
  std::string peer;
  Header request;
  int rank = -1;
  uint64_t epoch = 0;
  std::string spec_bytes;
};

struct ParameterServer::Impl : public ShardHost {
  Impl(ParameterServer* owner, const ServerOptions* options) : owner(owner), opt(options) {}

  void Start();
  ServerResult Wait();
  void Shutdown();
  float CurrentAlpha() const;
  float CurrentFactor() const;
  // The whole center, pulled from the shards like a worker, through
  // `caller` (the tester's), or a new one when null (tests, any thread).
  // Waits until every shard server is there.
  std::vector<float> PullCenterCopy(ShardCaller* caller);
  // Blocks until the shards of every shard server listen; false when the
  // job ends first.
  bool WaitForCenter();

  // ShardHost (any thread). The center's iteration is the largest a worker
  // reported (in a push, a round or a heartbeat).
  ExchangeRates CurrentRates() const override;
  bool closing() const override { return shutting_down; }
  int max_iter() const override { return solver.max_iter(); }
  void AdvanceCenterIter(int worker_iter) override;
  void CountRejected() override { ++rejected_messages; }
  void CountDuplicate() override { ++duplicate_requests; }
  uint64_t tester_ticket() const override { return tester_ticket_; }
  // The tester's job description: rank kTesterRank with its ticket.
  pb::JobSpec TesterSpec() const;

  // Shard servers (server_shard_servers.cc), control thread.
  void HandleShardJoin(const std::string& peer, const Header& header, const std::string& payload);
  void HandleShardPoll(const std::string& peer, const Header& header, const std::string& payload);
  void AnswerPoll(RemoteShards* server, const std::string& peer, const Header& request);
  // Answers held polls that are due, fails the job for a silent shard
  // server, and sends the WELCOMEs every shard server is ready for.
  void TendShardServers(std::chrono::steady_clock::time_point now);
  // Sends a WELCOME now, or once every shard server holds live_epoch.
  void Welcome(const std::string& peer, const Header& request, int rank,
               const std::string& spec_bytes);
  // After the job: tells every shard server to stop (up to a second).
  void DismissShardServers();
  // Ends the job with `what` (the center is incomplete: no final test or
  // snapshot can be made). Control thread.
  void FailJob(const std::string& what);

  // Control thread.
  void ControlLoop();
  void HandleControl(const std::string& peer, const std::vector<std::string>& frames);
  void HandleHello(const std::string& peer, const Header& header, const std::string& payload);
  void HandleHeartbeat(const std::string& peer, const Header& header, const std::string& payload);
  // Answers `request` (its request_id is echoed).
  void SendControl(const std::string& peer, const Header& request, Kind kind, int rank,
                   uint64_t seq, const std::string& payload);
  void BroadcastLive();
  void LogProgress();
  // One JSON object per line of the metrics file. Any thread.
  void WriteMetricsLine(const nlohmann::json& line);

  // Tester thread.
  void TesterLoop();
  std::vector<TestScore> TestCenter(int iter);
  std::string SnapshotCenter(int iter);
  // Also sets center_finite.
  void LoadCenterIntoModel(const std::vector<float>& flat);
  // Runs body; an exception ends the job and is kept for Wait().
  void RunGuarded(const char* thread_name, const std::function<void()>& body);

  ParameterServer* const owner;
  const ServerOptions* const opt;

  // Const after Start.
  std::shared_ptr<Transport> transport;
  caffe::SolverParameter solver;  // train net inlined
  // Its shard endpoints of shard servers are filled by the control thread
  // before center_ready is set; read by others only after that.
  pb::JobSpec spec_template;
  std::string control_endpoint;
  std::vector<std::unique_ptr<Shard>> shards;
  int64_t param_count = 0;
  int restored_iter = 0;
  float alpha = 0.f;
  std::string snapshot_prefix;
  uint64_t tester_ticket_ = 0;
  std::chrono::steady_clock::time_point start_time;
  bool started = false;  // owner thread

  // Control thread (made in Start, then only the control thread).
  std::vector<RemoteShards> shard_servers;  // process p at index p - 1
  uint64_t live_epoch = 1;                  // grows at every BroadcastLive
  std::vector<int> live_ranks;              // the members at live_epoch
  std::vector<PendingWelcome> pending_welcomes;
  // HELLOs that came before the shard servers were ready: answered then.
  std::vector<std::pair<std::string, std::vector<std::string>>> deferred_hellos;
  std::unique_ptr<Port> control;
  std::vector<WorkerState> workers;
  uint32_t next_session = 0;
  std::chrono::steady_clock::time_point last_progress;
  std::chrono::steady_clock::time_point last_live_time;

  // Tester thread.
  std::shared_ptr<Net<float>> model;  // train net: holds the center for tests and snapshots
  std::vector<std::shared_ptr<Net<float>>> test_nets;
  bool center_finite = true;
  ServerResult target;  // filled when the target accuracy is reached
  std::unique_ptr<ShardCaller> tester_caller;

  // Shared.
  std::ofstream metrics;  // under metrics_mutex
  std::mutex metrics_mutex;
  std::vector<TestScore> last_scores;  // under scores_mutex (tester writes, control reads)
  std::mutex scores_mutex;
  std::atomic<bool> shutting_down{false};
  // Set (with spec_template's shard endpoints complete) once every shard
  // server's shards listen; never, if the job ends first.
  std::atomic<bool> center_ready{false};
  // Pulls of the center stop waiting (shutting down, or a shard server lost).
  std::atomic<bool> abandon_pulls{false};
  std::atomic<bool> job_done{false};
  std::atomic<int64_t> rejected_messages{0};
  std::atomic<int64_t> duplicate_requests{0};
  std::atomic<int64_t> total_worker_iters{0};
  // The first exception that escaped a server thread: the job ends (the
  // tester still tests and saves the center) and Wait() throws it.
  std::string thread_failure;  // under thread_failure_mutex
  std::mutex thread_failure_mutex;
  std::promise<ServerResult> result_promise;  // set by the tester thread
  std::thread control_thread;                 // owner thread
  std::thread tester_thread;                  // owner thread
};

}  // namespace distributed
}  // namespace deepspark
