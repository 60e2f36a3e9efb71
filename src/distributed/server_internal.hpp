// Internals of the parameter server, shared by param_server.cc (shards),
// server_control.cc (membership and job) and server_tester.cc (tester and
// snapshots). Not a public header.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "deepspark/distributed/param_server.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/net.hpp"

namespace deepspark {
namespace distributed {

// The tester pulls the center like a worker, under this rank.
constexpr int kTesterRank = -2;

struct Shard {
  ParameterServer::Impl* impl = nullptr;
  int index = 0;
  int64_t begin = 0;
  std::vector<float> center;  // owned by this shard's thread once started
  uint64_t version = 0;       // center updates applied so far
  std::unique_ptr<Socket> socket;
  std::string endpoint;          // as bound
  std::string member_endpoint;   // inproc: membership updates
  std::promise<void> member_ready;
  std::set<int> live;
  // The open synchronous round.
  std::vector<float> round_sum;
  std::vector<std::pair<std::string, int>> round_members;  // identity, rank
  uint32_t round_mode = 0;
  uint64_t rounds_completed = 0;
  std::thread thread;

  void Run();
  void HandleMessage(const std::vector<std::string>& frames);
  void MaybeCompleteRound();
  void Reply(const std::string& identity, Kind kind, uint64_t seq, const void* data,
             size_t floats);
  void ReplyError(const std::string& identity, const std::string& what);
};

struct WorkerState {
  enum State { FREE, LIVE, DEAD, DONE };
  State state = FREE;
  std::chrono::steady_clock::time_point last_heartbeat;
  std::chrono::steady_clock::time_point last_metrics_log;
  int last_iter = 0;
  pb::WorkerMetrics metrics;
  bool ever_joined = false;
};

struct ParameterServer::Impl {
  Impl(ParameterServer* owner, const ServerOptions* options) : owner(owner), opt(options) {}

  void Start();
  ServerResult Wait();
  void Shutdown();
  float CurrentAlpha() const;
  float CurrentFactor() const;
  std::vector<float> PullCenterCopy();
  // The center's iteration is the largest a worker reported (in a push, a
  // round or a heartbeat). Any thread.
  void AdvanceCenterIter(int worker_iter);

  // Control thread.
  void ControlLoop();
  void HandleControl(const std::vector<std::string>& frames);
  void BroadcastLive();
  void LogProgress();
  // One JSON object per line of the metrics file (thread-safe).
  void WriteMetricsLine(const nlohmann::json& line);

  // Tester thread.
  void TesterLoop();
  std::vector<TestScore> TestCenter(int iter);
  std::string SnapshotCenter(int iter);
  // Also sets center_finite.
  void LoadCenterIntoModel(const std::vector<float>& flat);
  bool center_finite = true;  // tester thread only
  int server_serial = 0;      // names this server's inproc endpoints

  ParameterServer* owner;
  const ServerOptions* opt;
  caffe::SolverParameter solver;  // train net inlined
  pb::JobSpec spec_template;
  std::string control_endpoint;
  std::unique_ptr<Socket> control;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<std::unique_ptr<Socket>> member_pushers;  // control thread -> shards
  std::vector<WorkerState> workers;
  std::shared_ptr<Net<float>> model;                    // train net: center holder
  std::vector<std::shared_ptr<Net<float>>> test_nets;
  int64_t param_count = 0;
  int restored_iter = 0;
  float alpha = 0.f;
  std::string snapshot_prefix;
  std::ofstream metrics;
  std::mutex metrics_mutex;
  std::chrono::steady_clock::time_point start_time;
  std::chrono::steady_clock::time_point last_progress;
  std::chrono::steady_clock::time_point last_live_time;
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> job_done{false};
  // The first exception that escaped a server thread (a shard, the control
  // loop): the job ends (the tester still tests and saves the center) and
  // Wait() throws it, instead of the process ending in std::terminate.
  std::mutex thread_failure_mutex;
  std::string thread_failure;
  void RunGuarded(const char* thread_name, const std::function<void()>& body);
  std::atomic<int64_t> rejected_messages{0};
  std::atomic<int64_t> total_worker_iters{0};
  std::vector<TestScore> last_scores;
  ServerResult target;  // filled when the target accuracy is reached
  std::mutex scores_mutex;
  std::promise<ServerResult> result_promise;
  std::thread control_thread;
  std::thread tester_thread;
  bool started = false;
};

}  // namespace distributed
}  // namespace deepspark
