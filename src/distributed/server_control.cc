// The parameter server's job side: start-up (center, sockets, threads),
// membership by hello/heartbeat, and the end of the job.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/io.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/rng.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

caffe::NetParameter NetWithState(const caffe::NetParameter& net, const caffe::NetState& base,
                                 const caffe::NetState* extra, caffe::Phase phase) {
  caffe::NetParameter param = net;
  caffe::NetState state;
  state.set_phase(phase);
  state.MergeFrom(base);
  if (extra) state.MergeFrom(*extra);
  state.set_phase(phase);
  *param.mutable_state() = state;
  return param;
}

}  // namespace

float ParameterServer::Impl::CurrentAlpha() const {
  return DecayedRate(alpha, opt->schedule.decay_rate(), opt->schedule.decay_step(),
                     opt->schedule.decay_limit(), owner->center_iter_);
}

float ParameterServer::Impl::CurrentFactor() const {
  return DecayedRate(opt->schedule.server_factor(), opt->schedule.factor_decay_rate(),
                     opt->schedule.factor_decay_step(), opt->schedule.factor_decay_limit(),
                     owner->center_iter_);
}

ExchangeRates ParameterServer::Impl::CurrentRates() const {
  ExchangeRates rates;
  rates.alpha = CurrentAlpha();
  rates.factor = CurrentFactor();
  return rates;
}

void ParameterServer::Impl::AdvanceCenterIter(int worker_iter) {
  int center = owner->center_iter_;
  while (worker_iter > center && !owner->center_iter_.compare_exchange_weak(center, worker_iter)) {
  }
}

void ParameterServer::Impl::Start() {
  CHECK(!started);
  started = true;
  solver = opt->solver;
  REQUIRE(opt->num_workers >= 1) << "--workers must be at least 1";
  REQUIRE(opt->tau >= 1) << "--tau must be at least 1";
  REQUIRE(opt->server_threads >= 1) << "--server-threads must be at least 1";
  REQUIRE(opt->shard_servers >= 0 && opt->shard_servers <= 1024)
      << "--shard-servers must be in [0, 1024], not " << opt->shard_servers;
  if (solver.random_seed() >= 0) SetRandomSeed(solver.random_seed());
  snapshot_prefix = solver.snapshot_prefix();
  // The center's snapshots and final model go there: an unwritable folder is
  // found now, not after the job trained for hours.
  REQUIRE(snapshot_prefix.empty() ||
          CanCreateFile(snapshot_prefix + "_probe." + std::to_string(getpid())))
      << opt->solver_path << ": cannot write to snapshot_prefix '" << snapshot_prefix
      << "' (the center's snapshots and final model go there); make sure its folder exists "
         "and is writable";

  // The center lives in a train net (so snapshots are the train net's
  // .caffemodel, as Caffe writes them); test nets share its weights.
  const caffe::NetParameter* train_def =
      solver.has_net_param() ? &solver.net_param()
                             : (solver.has_train_net_param() ? &solver.train_net_param() : nullptr);
  REQUIRE(train_def) << opt->solver_path << ": the solver names no train net";
  try {
    model = std::make_shared<Net<float>>(
        NetWithState(*train_def, train_def->state(),
                     solver.has_train_state() ? &solver.train_state() : nullptr, caffe::TRAIN));
  } catch (const Error& e) {
    THROW_ERROR() << opt->solver_path << ": cannot build the train net on the server: " << e.what();
  }
  std::vector<const caffe::NetParameter*> test_defs;
  for (const auto& t : solver.test_net_param()) test_defs.push_back(&t);
  if (solver.has_net_param()) {
    while (static_cast<int>(test_defs.size()) < solver.test_iter_size()) {
      test_defs.push_back(&solver.net_param());
    }
  }
  REQUIRE(static_cast<int>(test_defs.size()) == solver.test_iter_size())
      << opt->solver_path << ": " << test_defs.size() << " test nets but "
      << solver.test_iter_size() << " test_iter values";
  for (size_t i = 0; i < test_defs.size(); ++i) {
    const caffe::NetState* extra =
        static_cast<int>(i) < solver.test_state_size() ? &solver.test_state(i) : nullptr;
    test_nets.push_back(std::make_shared<Net<float>>(
        NetWithState(*test_defs[i], test_defs[i]->state(), extra, caffe::TEST)));
  }
  for (const std::string& w :
       opt->weights.empty() ? std::vector<std::string>{} : std::vector<std::string>{opt->weights}) {
    size_t start = 0;
    while (start <= w.size()) {
      size_t comma = w.find(',', start);
      std::string file =
          w.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!file.empty()) model->CopyTrainedLayersFrom(file);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (!opt->snapshot.empty()) {
    caffe::SolverState state;
    ReadProtoFromBinaryFile(opt->snapshot, &state);
    std::string learned = state.learned_net();
    if (!FileExists(learned)) {
      const size_t slash = opt->snapshot.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : opt->snapshot.substr(0, slash + 1);
      const size_t lslash = learned.rfind('/');
      const std::string beside =
          dir + (lslash == std::string::npos ? learned : learned.substr(lslash + 1));
      REQUIRE(FileExists(beside)) << opt->snapshot << ": its center " << learned
                                  << " is missing (looked also for " << beside << ")";
      learned = beside;
    }
    model->CopyTrainedLayersFrom(learned);
    restored_iter = state.iter();
    LOG(INFO) << "Resuming the center from " << opt->snapshot << " at iteration " << restored_iter;
  }
  for (auto& test_net : test_nets) test_net->ShareTrainedLayersWith(model.get());

  // Flatten the center and cut it into contiguous shards.
  std::vector<float> flat;
  for (Blob<float>* blob : model->learnable_params()) {
    flat.insert(flat.end(), blob->cpu_data(), blob->cpu_data() + blob->count());
  }
  param_count = static_cast<int64_t>(flat.size());
  REQUIRE(param_count > 0) << opt->solver_path << ": the net has no learnable parameters";
  // At least --server-threads shards per process, and none over
  // kMaxShardBytes: a larger message costs more than its bytes
  // (zmq_transport.cc). Shard s lives in process s mod P (0: this one), so
  // every process gets the same number of equal shards.
  const int processes = 1 + opt->shard_servers;
  REQUIRE(param_count >= processes)
      << opt->solver_path << ": a center of " << param_count << " floats cannot be split over "
      << processes << " server processes";
  const int64_t by_size =
      (param_count * static_cast<int64_t>(sizeof(float)) + kMaxShardBytes - 1) / kMaxShardBytes;
  int64_t wanted =
      std::max<int64_t>(static_cast<int64_t>(opt->server_threads) * processes, by_size);
  wanted = (wanted + processes - 1) / processes * processes;
  const int num_shards =
      static_cast<int>(std::min<int64_t>(wanted, param_count / processes * processes));
  alpha = opt->moving_rate < 0 ? 0.9f / opt->num_workers : opt->moving_rate;

  // The rule's name is checked before anything listens.
  const bool elastic = !NewExchangeRule(opt->rule)->exchanges_gradients();
  transport = opt->transport ? opt->transport : MakeZmqTransport(opt->key);
  control = transport->Listen(opt->listen, kMaxControlFrameBytes);
  control_endpoint = control->address();

  spec_template.set_num_workers(opt->num_workers);
  spec_template.set_rule(opt->rule);
  spec_template.set_tau(opt->tau);
  spec_template.set_moving_rate(alpha);
  *spec_template.mutable_schedule() = opt->schedule;
  spec_template.set_seed(solver.random_seed() >= 0 ? solver.random_seed() : 1);
  spec_template.set_param_count(param_count);
  spec_template.set_slow_delay_us(opt->slow_delay_us);
  spec_template.set_slow_rank(opt->slow_rank);
  spec_template.set_fail_rank(opt->fail_rank);
  spec_template.set_fail_after(opt->fail_after);
  // Learning rate with N workers (param_server.hpp; measured in
  // docs/benchmarks.md, "Emulated cluster"): under the elastic rules every
  // worker is an SGD of its own whose noise the center averages away, so it
  // can take a larger step. Gradient averaging (sync-sgd) is one SGD: the
  // solver's rate stands. The schedule counts each worker's own iterations
  // unless asked (by all workers' measured no faster).
  {
    const double power = opt->lr_power >= 0 ? opt->lr_power : (elastic ? kDefaultLrPower : 0.0);
    spec_template.set_lr_scale(static_cast<float>(std::pow(opt->num_workers, power)));
    spec_template.set_lr_schedule_scale(
        opt->lr_schedule_by_all > 0 ? static_cast<float>(opt->num_workers) : 1.f);
  }
  {
    std::string bytes;
    solver.SerializeToString(&bytes);
    spec_template.set_solver(bytes);
  }
  shard_servers.resize(opt->shard_servers);
  for (int s = 0; s < num_shards; ++s) {
    const int64_t begin = param_count * s / num_shards;
    const int64_t end = param_count * (s + 1) / num_shards;
    std::vector<float> slice(flat.begin() + begin, flat.begin() + end);
    spec_template.add_shard_begin(begin);
    if (s % processes == 0) {
      shards.push_back(
          std::make_unique<Shard>(this, s, begin, std::move(slice),
                                  transport->Listen(transport->ShardAddress(control_endpoint, s),
                                                    MaxShardFrameBytes(end - begin)),
                                  NewExchangeRule(opt->rule)));
      spec_template.add_shard_endpoint(shards.back()->address);
    } else {
      RemoteShards& server = shard_servers[s % processes - 1];
      server.shards.push_back(s);
      server.initial.push_back(std::move(slice));
      spec_template.add_shard_endpoint("");  // known once that server is ready
    }
  }
  center_ready = shard_servers.empty();
  // Sessions grow across restarts of a server too (seconds since the epoch,
  // then one per join), so a shard never mistakes an earlier server's
  // session for a newer one.
  next_session = static_cast<uint32_t>(std::time(nullptr));
  tester_ticket_ = RandomNonce();
  for (auto& shard : shards) {
    Shard* raw = shard.get();
    raw->thread = std::thread([this, raw] { RunGuarded("shard", [raw] { raw->Run(); }); });
  }
  workers.resize(opt->num_workers);
  // Resumed: worker iterations are counted from the snapshot on.
  for (WorkerState& w : workers) w.last_iter = restored_iter;
  std::string metrics_path = opt->metrics_path;
  if (metrics_path.empty()) {
    metrics_path =
        (snapshot_prefix.empty() ? std::string("deepspark") : snapshot_prefix) + "_metrics.jsonl";
  }
  metrics.open(metrics_path, std::ios::app);
  REQUIRE(metrics.good()) << "cannot write metrics file " << metrics_path;
  start_time = last_progress = last_live_time = Clock::now();
  LOG(INFO) << "Parameter server for " << opt->solver_path << ": " << opt->rule << ", "
            << opt->num_workers << " worker(s), tau " << opt->tau << ", moving rate " << alpha
            << ", learning rate x" << spec_template.lr_scale()
            << " with its schedule at iteration x" << spec_template.lr_schedule_scale() << ", "
            << param_count << " parameters in " << num_shards << " shard(s)"
            << (shard_servers.empty()
                    ? std::string()
                    : " over " + std::to_string(processes) + " processes (waiting for " +
                          std::to_string(shard_servers.size()) + " shard servers)")
            << "; listening on " << control_endpoint << "; metrics in " << metrics_path;
  owner->center_iter_ = restored_iter;
  control_thread = std::thread([this] { RunGuarded("control", [this] { ControlLoop(); }); });
  tester_thread = std::thread([this] {
    // OpenMP's thread count is per thread: the tester's loops and BLAS calls
    // use tester_threads, whatever the other server threads use.
    SetNumThreads(opt->tester_threads);
    TesterLoop();
  });
}

void ParameterServer::Impl::BroadcastLive() {
  std::set<int> live;
  for (size_t r = 0; r < workers.size(); ++r) {
    if (workers[r].state == WorkerState::LIVE) live.insert(static_cast<int>(r));
  }
  for (auto& shard : shards) shard->SetLive(live);
  ++live_epoch;
  live_ranks.assign(live.begin(), live.end());
  for (RemoteShards& server : shard_servers) {
    if (server.held) {
      server.held = false;
      AnswerPoll(&server, server.held_peer, server.held_header);
    }
  }
}

void ParameterServer::Impl::WriteMetricsLine(const nlohmann::json& line) {
  const std::string text = line.dump();
  std::lock_guard<std::mutex> lock(metrics_mutex);
  metrics << text << "\n";
  metrics.flush();
}

void ParameterServer::Impl::ControlLoop() {
  std::string peer;
  std::vector<std::string> frames;
  // Keeps answering after the job ended, so late workers hear "stop".
  while (!shutting_down) {
    if (control->Receive(&peer, &frames, shard_servers.empty() ? 100 : 10)) {
      HandleControl(peer, frames);
    }
    if (!shard_servers.empty()) TendShardServers(Clock::now());
    if (job_done) continue;
    const auto now = Clock::now();
    bool changed = false;
    bool any_live = false;
    for (size_t r = 0; r < workers.size(); ++r) {
      WorkerState& w = workers[r];
      if (w.state != WorkerState::LIVE) continue;
      if (std::chrono::duration_cast<std::chrono::milliseconds>(now - w.last_heartbeat).count() >
          opt->heartbeat_timeout_ms) {
        LOG(WARNING) << "Worker " << r << " silent for " << opt->heartbeat_timeout_ms / 1000.0
                     << " s: dropped from the job (it may rejoin)";
        w.state = WorkerState::DEAD;
        changed = true;
      } else {
        any_live = true;
      }
    }
    if (changed) BroadcastLive();
    if (any_live) last_live_time = now;
    if (!opt->quiet && Seconds(last_progress, now) >= 5) {
      last_progress = now;
      LogProgress();
    }
    bool all_done = true;
    // A server resumed from a snapshot had workers before: if none comes
    // back (they all finished while it was down) it ends the job after
    // resume_wait_s instead of waiting forever.
    bool any_joined = false;
    for (const auto& w : workers) {
      all_done &= w.state == WorkerState::DONE;
      any_joined |= w.ever_joined;
    }
    int idle_limit_s = opt->idle_timeout_s;
    if (!any_joined && restored_iter > 0) {
      any_joined = true;
      idle_limit_s = std::max(opt->idle_timeout_s, opt->resume_wait_s);
    }
    if (all_done) {
      LOG(INFO) << "All " << workers.size() << " workers finished";
      job_done = true;
    } else if (owner->stop_requested_) {
      LOG(INFO) << "Stop requested";
      job_done = true;
    } else if (any_joined && !any_live && Seconds(last_live_time, now) > idle_limit_s) {
      LOG(WARNING) << "No live worker for " << idle_limit_s << " s: ending the job";
      job_done = true;
    }
  }
  DismissShardServers();
}

void ParameterServer::Impl::SendControl(const std::string& peer, const Header& request, Kind kind,
                                        int rank, uint64_t seq, const std::string& payload) {
  Header h;
  h.kind = static_cast<uint16_t>(kind);
  h.rank = rank;
  h.request_id = request.request_id;
  h.seq = seq;
  h.count = payload.size();
  control->Send(peer, {{&h, sizeof(h)}, {payload.data(), payload.size()}});
  if (kind == Kind::ERROR) ++rejected_messages;
}

void ParameterServer::Impl::HandleControl(const std::string& peer,
                                          const std::vector<std::string>& frames) {
  Header header;
  try {
    header = ParseHeader(frames.empty() ? std::string() : frames[0]);
  } catch (const ProtocolError& e) {
    return SendControl(peer, Header(), Kind::ERROR, -1,
                       static_cast<uint64_t>(ErrorCode::BAD_MESSAGE), e.what());
  }
  const std::string payload = frames.size() > 1 ? frames[1] : std::string();
  if (header.count != payload.size()) {
    return SendControl(peer, header, Kind::ERROR, header.rank,
                       static_cast<uint64_t>(ErrorCode::BAD_MESSAGE),
                       "payload size does not match the header");
  }
  const Kind kind = static_cast<Kind>(header.kind);
  if (kind == Kind::HELLO) return HandleHello(peer, header, payload);
  if (kind == Kind::HEARTBEAT) return HandleHeartbeat(peer, header, payload);
  if (kind == Kind::SHARD_JOIN) return HandleShardJoin(peer, header, payload);
  if (kind == Kind::SHARD_POLL) return HandleShardPoll(peer, header, payload);
  SendControl(peer, header, Kind::ERROR, header.rank, static_cast<uint64_t>(ErrorCode::BAD_MESSAGE),
              std::string("unexpected ") + KindName(kind) + " at the control endpoint");
}

void ParameterServer::Impl::HandleHello(const std::string& peer, const Header& header,
                                        const std::string& payload) {
  const auto now = Clock::now();
  pb::Hello hello;
  auto refuse = [&](ErrorCode code, const std::string& what) {
    SendControl(peer, header, Kind::ERROR, -1, static_cast<uint64_t>(code), what);
  };
  if (!hello.ParseFromString(payload)) return refuse(ErrorCode::BAD_MESSAGE, "malformed HELLO");
  if (!center_ready) {
    // Not every shard server is there: the job cannot start yet. Answered
    // once they are (a worker resends its HELLO meanwhile: kept once).
    Header h = header;
    std::vector<std::string> frames = {std::string(reinterpret_cast<const char*>(&h), sizeof(h)),
                                       payload};
    for (auto& deferred : deferred_hellos) {
      if (deferred.second[1] == payload) {
        deferred = {peer, frames};
        return;
      }
    }
    if (deferred_hellos.size() < 4 * workers.size() + 16) deferred_hellos.push_back({peer, frames});
    return;
  }
  // The same HELLO again (its answer was lost): the same answer.
  if (hello.nonce() != 0) {
    for (PendingWelcome& pending : pending_welcomes) {
      if (workers[pending.rank].hello_nonce == hello.nonce()) {
        pending.peer = peer;  // answered there once the shard servers are ready
        pending.request = header;
        return;
      }
    }
    for (const WorkerState& w : workers) {
      if (w.state == WorkerState::LIVE && w.hello_nonce == hello.nonce()) {
        std::string bytes;
        w.welcome.SerializeToString(&bytes);
        return SendControl(peer, header, Kind::WELCOME, w.welcome.rank(), 0, bytes);
      }
    }
  }
  int rank = hello.requested_rank();
  if (rank >= static_cast<int>(workers.size())) {
    return refuse(ErrorCode::REFUSED, "rank " + std::to_string(rank) +
                                          " requested, but the job has " +
                                          std::to_string(workers.size()) + " workers");
  }
  if (rank < 0) {
    for (int pass = 0; pass < 3 && rank < 0; ++pass) {
      const WorkerState::State wanted =
          pass == 0 ? WorkerState::FREE : (pass == 1 ? WorkerState::DEAD : WorkerState::DONE);
      for (size_t r = 0; r < workers.size(); ++r) {
        if (workers[r].state == wanted) {
          rank = static_cast<int>(r);
          break;
        }
      }
    }
    if (rank < 0)
      return refuse(ErrorCode::REFUSED, "the job is full: every rank has a live worker");
  }
  WorkerState& w = workers[rank];
  // A rank held by a live worker goes to that worker only (it proves itself
  // with its ticket): never to a second worker started with the same
  // --rank, nor to a peer taking it over. Once the holder stops or goes
  // silent for the heartbeat timeout the rank is free, so a killed worker
  // restarted at once waits that long (the client keeps asking).
  if (w.state == WorkerState::LIVE &&
      (hello.ticket() == 0 || hello.ticket() != w.welcome.ticket())) {
    char text[200];
    std::snprintf(text, sizeof(text),
                  "rank %d is held by a live worker (last heard %.1f s ago); it is free once "
                  "that worker stops or is silent for %.1f s",
                  rank, std::chrono::duration<double>(now - w.last_heartbeat).count(),
                  opt->heartbeat_timeout_ms / 1000.0);
    return refuse(ErrorCode::BUSY, text);
  }
  const bool rejoin = w.ever_joined;
  w.state = WorkerState::LIVE;
  w.ever_joined = true;
  w.last_heartbeat = now;
  w.hello_nonce = hello.nonce();
  pb::JobSpec spec = spec_template;
  spec.set_rank(rank);
  spec.set_start_iter(std::max(w.last_iter, restored_iter));
  spec.set_session(++next_session);
  spec.set_ticket(RandomNonce());
  w.welcome = spec;
  BroadcastLive();
  LOG(INFO) << "Worker " << rank << (rejoin ? " rejoined" : " joined") << " (pid " << hello.pid()
            << " on " << EscapeForLog(hello.host()) << "), starting at iteration "
            << spec.start_iter();
  WriteMetricsLine({{"t", Seconds(start_time, now)},
                    {"event", rejoin ? "rejoin" : "join"},
                    {"worker", rank},
                    {"iter", spec.start_iter()}});
  std::string bytes;
  spec.SerializeToString(&bytes);
  Welcome(peer, header, rank, bytes);
}

void ParameterServer::Impl::HandleHeartbeat(const std::string& peer, const Header& header,
                                            const std::string& payload) {
  const auto now = Clock::now();
  pb::WorkerMetrics m;
  if (!m.ParseFromString(payload)) {
    return SendControl(peer, header, Kind::ERROR, header.rank,
                       static_cast<uint64_t>(ErrorCode::BAD_MESSAGE), "malformed HEARTBEAT");
  }
  const int rank = header.rank;
  // As at the shards (param_server.cc): no worker iterates past max_iter.
  if (m.iter() < 0 || m.iter() > std::max(0, solver.max_iter())) {
    return SendControl(
        peer, header, Kind::ERROR, rank, static_cast<uint64_t>(ErrorCode::BAD_MESSAGE),
        "HEARTBEAT at iteration " + std::to_string(m.iter()) + ", outside the job's [0, max_iter " +
            std::to_string(solver.max_iter()) + "]");
  }
  pb::ControlReply answer;
  answer.set_stop(owner->stop_requested_.load());
  std::string answer_bytes;
  answer.SerializeToString(&answer_bytes);
  const bool known_rank = rank >= 0 && rank < static_cast<int>(workers.size());
  if (m.done() && known_rank && workers[rank].state != WorkerState::LIVE) {
    // A worker that finished while it was not a member (dropped, or this
    // server restarted from a snapshot before it could rejoin) still counts
    // as done; otherwise the job would wait for it until the idle timeout.
    WorkerState& w = workers[rank];
    if (w.state != WorkerState::DONE) {
      w.state = WorkerState::DONE;
      w.ever_joined = true;
      w.last_iter = std::max(w.last_iter, m.iter());
      BroadcastLive();
      LOG(INFO) << "Worker " << rank << " finished at iteration " << m.iter()
                << " (while not a member)";
    }
    return SendControl(peer, header, Kind::CONTROL_REPLY, rank, 0, answer_bytes);
  }
  if (!known_rank || workers[rank].state != WorkerState::LIVE) {
    return SendControl(peer, header, Kind::ERROR, rank,
                       static_cast<uint64_t>(ErrorCode::NOT_MEMBER),
                       "rank " + std::to_string(rank) + " is not a member of the job");
  }
  // Only the join that holds the rank speaks for it: an earlier join of it,
  // or another peer, cannot keep it alive or mark it done.
  if (header.session != workers[rank].welcome.session()) {
    return SendControl(peer, header, Kind::ERROR, rank,
                       static_cast<uint64_t>(ErrorCode::NOT_MEMBER),
                       "rank " + std::to_string(rank) + " is held by another join (session " +
                           std::to_string(header.session) + " is not its session)");
  }
  WorkerState& w = workers[rank];
  w.last_heartbeat = now;
  if (m.iter() > w.last_iter) total_worker_iters += m.iter() - w.last_iter;
  w.last_iter = std::max(w.last_iter, m.iter());
  w.metrics = m;
  AdvanceCenterIter(w.last_iter);
  if (m.done() || Seconds(w.last_metrics_log, now) >= 1.0) {
    w.last_metrics_log = now;
    nlohmann::json line = {{"t", Seconds(start_time, now)},
                           {"worker", rank},
                           {"iter", m.iter()},
                           {"loss", m.loss()},
                           {"images_per_sec", m.images_per_sec()},
                           {"exchange_ms", m.exchange_ms()},
                           {"staleness", m.staleness()},
                           {"bytes_sent", m.bytes_sent()},
                           {"bytes_received", m.bytes_received()},
                           {"exchanges", m.exchanges()}};
    if (m.done()) line["done"] = true;
    WriteMetricsLine(line);
  }
  if (m.done()) {
    w.state = WorkerState::DONE;
    BroadcastLive();
    LOG(INFO) << "Worker " << rank << " finished at iteration " << m.iter();
  }
  SendControl(peer, header, Kind::CONTROL_REPLY, rank, 0, answer_bytes);
}

void ParameterServer::Impl::LogProgress() {
  const int max_iter = solver.max_iter();
  const int center = owner->center_iter_;
  const double elapsed = Seconds(start_time, Clock::now());
  std::string line;
  char buffer[160];
  double eta = -1;
  if (center > restored_iter && max_iter > center) {
    eta = elapsed * (max_iter - center) / (center - restored_iter);
  }
  std::snprintf(buffer, sizeof(buffer), "[%5.0fs] center iter %d/%d", elapsed, center, max_iter);
  line += buffer;
  if (eta >= 0) {
    std::snprintf(buffer, sizeof(buffer), " ETA %.0fs", eta);
    line += buffer;
  }
  for (size_t r = 0; r < workers.size(); ++r) {
    const WorkerState& w = workers[r];
    const char* state =
        w.state == WorkerState::LIVE
            ? ""
            : (w.state == WorkerState::DEAD ? " dead"
                                            : (w.state == WorkerState::DONE ? " done" : " -"));
    std::snprintf(buffer, sizeof(buffer), " | w%zu it %d loss %.3g %.0f img/s%s", r, w.last_iter,
                  w.metrics.loss(), w.metrics.images_per_sec(), state);
    line += buffer;
  }
  {
    std::lock_guard<std::mutex> lock(scores_mutex);
    for (const auto& s : last_scores) {
      if (s.net_id == 0 && s.loss_weight == 0) {
        std::snprintf(buffer, sizeof(buffer), " | center %s %.4f", s.name.c_str(), s.value);
        line += buffer;
      }
    }
  }
  LOG(INFO) << line;
}

void ParameterServer::Impl::RunGuarded(const char* thread_name, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(thread_failure_mutex);
      if (thread_failure.empty())
        thread_failure = std::string(thread_name) + " thread: " + e.what();
    }
    LOG(ERROR) << "parameter server " << thread_name << " thread failed: " << e.what()
               << "; ending the job";
    owner->stop_requested_ = true;
    job_done = true;
  }
}

ServerResult ParameterServer::Impl::Wait() {
  ServerResult result;
  std::exception_ptr tester_error;
  try {
    result = result_promise.get_future().get();
  } catch (...) {
    tester_error = std::current_exception();
  }
  Shutdown();
  {
    // The first failure says why (a lost shard server also fails the
    // tester's last pull).
    std::lock_guard<std::mutex> lock(thread_failure_mutex);
    REQUIRE(thread_failure.empty()) << "the parameter server failed: " << thread_failure;
  }
  if (tester_error) std::rethrow_exception(tester_error);
  return result;
}

void ParameterServer::Impl::Shutdown() {
  if (!started) return;
  shutting_down = true;
  abandon_pulls = true;
  job_done = true;
  if (tester_thread.joinable()) tester_thread.join();
  if (control_thread.joinable()) control_thread.join();
  for (auto& shard : shards) {
    if (shard->thread.joinable()) shard->thread.join();
  }
  tester_caller.reset();
  shards.clear();
  control.reset();
  started = false;
}

}  // namespace distributed
}  // namespace deepspark
