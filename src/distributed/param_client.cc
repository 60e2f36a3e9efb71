#include "deepspark/distributed/param_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;

int MillisecondsLeft(Clock::time_point deadline) {
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

}  // namespace

// ---------------------------------------------------------------------------
// ShardCaller

namespace {
// A job description comes over the network: whatever will index, size or
// divide by it is checked before use (a negative shard start once made a
// worker's memcpy write before its buffer; a tau of 0 would divide by zero).
void CheckJobSpec(const pb::JobSpec& spec, const std::string& server) {
  auto bad = [&server](const std::string& what) {
    THROW_ERROR() << "the server at " << server << " sent a malformed job description: " << what;
  };
  const int64_t count = spec.param_count();
  if (count <= 0) bad("param_count " + std::to_string(count));
  if (spec.shard_endpoint_size() < 1) bad("no shard endpoints");
  if (spec.shard_begin_size() != spec.shard_endpoint_size()) {
    bad(std::to_string(spec.shard_begin_size()) + " shard starts for " +
        std::to_string(spec.shard_endpoint_size()) + " shards");
  }
  if (spec.shard_begin(0) != 0) bad("shard 0 starts at " + std::to_string(spec.shard_begin(0)));
  for (int s = 0; s < spec.shard_begin_size(); ++s) {
    const int64_t end = s + 1 < spec.shard_begin_size() ? spec.shard_begin(s + 1) : count;
    if (end <= spec.shard_begin(s) || end > count) {
      bad("shard " + std::to_string(s) + " covers [" + std::to_string(spec.shard_begin(s)) + ", " +
          std::to_string(end) + ") of " + std::to_string(count) + " parameters");
    }
  }
  if (spec.num_workers() < 1) bad("num_workers " + std::to_string(spec.num_workers()));
  if (spec.rank() != -2 && (spec.rank() < 0 || spec.rank() >= spec.num_workers())) {
    bad("rank " + std::to_string(spec.rank()) + " of " + std::to_string(spec.num_workers()));
  }
  if (spec.tau() < 1) bad("tau " + std::to_string(spec.tau()));
  if (!std::isfinite(spec.moving_rate())) bad("a moving rate that is not finite");
  if (!(spec.lr_scale() > 0 && std::isfinite(spec.lr_scale())) ||
      !(spec.lr_schedule_scale() > 0 && std::isfinite(spec.lr_schedule_scale()))) {
    bad("a learning-rate scale that is not a positive number");
  }
  if (spec.start_iter() < 0) bad("start_iter " + std::to_string(spec.start_iter()));
}
}  // namespace

void ShardCaller::Connect(const pb::JobSpec& spec, const std::string& control_endpoint) {
  CheckJobSpec(spec, control_endpoint);
  spec_ = spec;
  connections_.clear();
  for (int s = 0; s < spec_.shard_endpoint_size(); ++s) {
    connections_.push_back(
        transport_->Connect(transport_->Reachable(spec_.shard_endpoint(s), control_endpoint)));
  }
}

int64_t ShardCaller::ShardEnd(int s) const {
  return s + 1 < spec_.shard_begin_size() ? spec_.shard_begin(s + 1) : spec_.param_count();
}

int ShardCaller::ResendMs(Kind kind) const {
  // A reliable transport loses a message only with its connection, which the
  // heartbeat and the give-up time handle: resending a large tensor that is
  // merely slow would only add to the load that makes it slow.
  if (transport_->resend_ms() < 0) return std::numeric_limits<int>::max();
  return std::max(transport_->resend_ms(),
                  static_cast<int>(4 * recent_ms_[static_cast<int>(kind) & 15]));
}

int ShardCaller::GiveUpMs(Kind kind) const {
  const double model_ms = 4.0 * spec_.param_count() / (kSlowestLinkMBps * 1e3);
  const double base = (kind == Kind::SYNC ? kSyncGiveUpMs : kAsyncGiveUpMs) + 3 * model_ms;
  return static_cast<int>(
      std::min(2e9, std::max(base, 20 * recent_ms_[static_cast<int>(kind) & 15])));
}

void ShardCaller::SendRequest(int shard, const Header& header, const float* tensor,
                              bool zero_copy) {
  if (tensor) {
    // Zero-copy only the first time: the answer, which proves that send
    // went out, comes before the call returns; a resend may still be queued
    // when it does, so it is copied.
    connections_[shard]->Send(
        {{&header, sizeof(header)},
         {tensor + ShardBegin(shard), header.count * sizeof(float), zero_copy}});
    stats_.bytes_sent += static_cast<int64_t>(header.count * sizeof(float));
  } else {
    connections_[shard]->Send({{&header, sizeof(header)}});
  }
  stats_.bytes_sent += sizeof(Header);
}

ShardCaller::Outcome ShardCaller::Call(Kind kind, const float* tensor, float* result,
                                       std::vector<uint64_t>* seqs, int give_up_ms,
                                       const std::atomic<bool>* abandon) {
  const int n_shards = num_shards();
  const uint64_t request_id = next_request_id_++;
  std::vector<Header> headers(n_shards);
  for (int s = 0; s < n_shards; ++s) {
    Header& h = headers[s];
    h.kind = static_cast<uint16_t>(kind);
    h.rank = spec_.rank();
    h.shard = s;
    h.session = spec_.session();
    h.request_id = request_id;
    h.iter = static_cast<uint32_t>(std::max(iter_, 0));
    h.count = tensor ? static_cast<uint64_t>(ShardEnd(s) - ShardBegin(s)) : 0;
    if (kind == Kind::PULL) h.seq = spec_.ticket();
  }
  if (seqs) seqs->assign(n_shards, 0);
  const auto started = Clock::now();
  const auto resend_after = std::chrono::milliseconds(ResendMs(kind));
  std::vector<bool> answered(n_shards, false);
  bool resent = false;
  std::vector<Clock::time_point> sent_at(n_shards, Clock::now());
  for (int s = 0; s < n_shards; ++s) SendRequest(s, headers[s], tensor, true);
  int remaining = n_shards;
  const auto give_up = Clock::now() + std::chrono::milliseconds(give_up_ms);
  std::vector<Connection*> waiting;
  std::vector<int> waiting_shard;
  while (remaining > 0) {
    if (MillisecondsLeft(give_up) <= 0) return Outcome::NO_ANSWER;
    // The heartbeat thread learns first when the server restarted or dropped
    // this rank; then no answer will come, so stop waiting and rejoin.
    if (abandon && abandon->load()) return Outcome::NO_ANSWER;
    const auto now = Clock::now();
    waiting.clear();
    waiting_shard.clear();
    for (int s = 0; s < n_shards; ++s) {
      if (answered[s]) continue;
      if (now - sent_at[s] >= resend_after) {
        SendRequest(s, headers[s], tensor, false);
        sent_at[s] = now;
        ++stats_.resends;
        resent = true;
      }
      waiting.push_back(connections_[s].get());
      waiting_shard.push_back(s);
    }
    const int ready = transport_->WaitAny(waiting, std::min(MillisecondsLeft(give_up), 50));
    if (ready < 0) continue;
    const int s = waiting_shard[ready];
    std::vector<std::string> frames;
    if (!connections_[s]->Receive(&frames, 0)) continue;
    Header reply;
    try {
      reply = ParseHeader(frames.empty() ? std::string() : frames[0]);
    } catch (const ProtocolError& e) {
      LOG(WARNING) << "shard " << s << " sent a malformed answer: " << e.what();
      continue;
    }
    const std::string empty;
    const std::string& payload = frames.size() > 1 ? frames[1] : empty;
    stats_.bytes_received += static_cast<int64_t>(payload.size() + sizeof(Header));
    const Kind reply_kind = static_cast<Kind>(reply.kind);
    if (reply_kind == Kind::ERROR) {
      const auto code = static_cast<ErrorCode>(reply.seq);
      // An error about an earlier request (late, or sent twice) is old news.
      if (reply.request_id != request_id && reply.request_id != 0) continue;
      if (code == ErrorCode::NOT_MEMBER) return Outcome::NOT_MEMBER;
      THROW_ERROR() << "shard " << s << " of the parameter server refused " << KindName(kind)
                    << ": " << EscapeForLog(payload, 1000);
    }
    // Answers to earlier requests, and second copies of this one's, are dropped.
    if (reply.request_id != request_id || reply.session != spec_.session()) continue;
    const Kind expected = kind == Kind::PULL   ? Kind::CENTER
                          : kind == Kind::PUSH ? Kind::PUSH_ACK
                                               : Kind::SYNC_RESULT;
    if (reply_kind != expected) {
      // Not an answer to this request: the result would be left unwritten.
      THROW_ERROR() << "shard " << s << " answered " << KindName(kind) << " with "
                    << KindName(reply_kind) << ", expected " << KindName(expected);
    }
    const size_t n = static_cast<size_t>(ShardEnd(s) - ShardBegin(s));
    const bool has_tensor = reply_kind == Kind::CENTER || reply_kind == Kind::SYNC_RESULT;
    if (has_tensor && (payload.size() != n * sizeof(float) || reply.count != n)) {
      THROW_ERROR() << "shard " << s << " answered " << KindName(kind) << " with " << payload.size()
                    << " bytes, expected " << n * sizeof(float) << ": the server's net differs";
    }
    if (has_tensor && result) std::memcpy(result + ShardBegin(s), payload.data(), payload.size());
    if (seqs) (*seqs)[s] = reply.seq;
    answered[s] = true;
    --remaining;
  }
  // Only calls that needed no resend say how long one takes: counting the
  // waits for lost messages would lengthen the resend time on every loss.
  if (!resent) {
    double& recent = recent_ms_[static_cast<int>(kind) & 15];
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    recent = recent == 0 ? took : 0.8 * recent + 0.2 * took;
  }
  return Outcome::OK;
}

// ---------------------------------------------------------------------------
// ParamClient

ParamClient::ParamClient(std::string control_endpoint, JobKey key, int requested_rank,
                         int rejoin_timeout_s, std::shared_ptr<Transport> transport)
    : control_endpoint_(std::move(control_endpoint)),
      key_(std::move(key)),
      requested_rank_(requested_rank),
      rejoin_timeout_s_(rejoin_timeout_s),
      transport_(transport ? std::move(transport) : MakeZmqTransport(key_)),
      caller_(transport_) {}

ParamClient::~ParamClient() = default;

const pb::JobSpec& ParamClient::Join() {
  const auto deadline = Clock::now() + std::chrono::seconds(rejoin_timeout_s_);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  pb::Hello hello;
  hello.set_requested_rank(spec_.has_rank() ? spec_.rank() : requested_rank_);
  hello.set_pid(getpid());
  hello.set_host(host);
  // The same nonce on every attempt: a HELLO whose WELCOME was lost is
  // answered alike, instead of taking a second rank.
  hello.set_nonce(RandomNonce());
  // A rejoin proves it is the worker that held the rank.
  if (spec_.has_ticket()) hello.set_ticket(spec_.ticket());
  std::string bytes;
  hello.SerializeToString(&bytes);
  std::string last_problem = "no answer";
  while (Clock::now() < deadline) {
    // A fresh connection per attempt: no stale answers, and a restarted
    // server is found again.
    std::unique_ptr<Connection> connection = transport_->Connect(control_endpoint_);
    Header header;
    header.kind = static_cast<uint16_t>(Kind::HELLO);
    header.count = bytes.size();
    connection->Send({{&header, sizeof(header)}, {bytes.data(), bytes.size()}});
    std::vector<std::string> frames;
    if (!connection->Receive(&frames, 2000)) continue;
    Header reply;
    try {
      reply = ParseHeader(frames.empty() ? std::string() : frames[0]);
    } catch (const ProtocolError& e) {
      last_problem = std::string("malformed answer: ") + e.what();
      continue;
    }
    const std::string payload = frames.size() > 1 ? frames[1] : std::string();
    if (reply.kind == static_cast<uint16_t>(Kind::ERROR) &&
        static_cast<ErrorCode>(reply.seq) == ErrorCode::BUSY) {
      // The rank is held by a live worker (one killed a moment ago is still
      // live until the server's heartbeat timeout): ask again.
      if (last_problem.rfind("rank", 0) != 0) {
        LOG(WARNING) << "the server at " << control_endpoint_
                     << " says: " << EscapeForLog(payload, 1000) << "; asking again";
      }
      last_problem = EscapeForLog(payload, 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (reply.kind == static_cast<uint16_t>(Kind::ERROR)) {
      // A refusal (wrong rank, job full, another protocol) is final.
      THROW_ERROR() << "the server at " << control_endpoint_
                    << " refused to join: " << EscapeForLog(payload, 1000);
    }
    pb::JobSpec spec;
    if (reply.kind != static_cast<uint16_t>(Kind::WELCOME) || !spec.ParseFromString(payload)) {
      last_problem = "unexpected answer";
      continue;
    }
    NewExchangeRule(spec.rule());  // a rule this build lacks fails here, by name
    spec_ = spec;
    caller_.Connect(spec_, control_endpoint_);
    session_ = spec_.session();
    rejoin_requested_ = false;
    return spec_;
  }
  THROW_ERROR() << "cannot join the job at " << control_endpoint_ << " within " << rejoin_timeout_s_
                << " s (" << last_problem << "; is the server running, and is this the job's key?)";
  return spec_;
}

void ParamClient::Call(Kind kind, const float* tensor, float* result, std::vector<uint64_t>* seqs) {
  const auto deadline = Clock::now() + std::chrono::seconds(rejoin_timeout_s_);
  std::string why = "the heartbeat found this rank forgotten (the server restarted, or dropped it)";
  while (true) {
    if (rejoin_requested_) {
      LOG(WARNING) << KindName(kind) << " of rank " << spec_.rank() << ": " << why << "; rejoining";
      Join();
    }
    const int give_up_ms = caller_.GiveUpMs(kind);
    const ShardCaller::Outcome outcome =
        caller_.Call(kind, tensor, result, seqs, give_up_ms, &rejoin_requested_);
    if (outcome == ShardCaller::Outcome::OK) return;
    REQUIRE(Clock::now() < deadline) << KindName(kind) << " got no answer for " << rejoin_timeout_s_
                                     << " s: the parameter server is gone";
    if (outcome == ShardCaller::Outcome::NOT_MEMBER) {
      why = "a shard says the rank is no longer a member";
    } else if (!rejoin_requested_) {
      why = "no answer from the server for " + std::to_string(give_up_ms / 1000) + " s";
    }
    rejoin_requested_ = true;
  }
}

void ParamClient::CountExchange(double ms) {
  ++caller_.stats().exchanges;
  caller_.stats().exchange_ms_total += ms;
}

// ---------------------------------------------------------------------------
// HeartbeatClient

HeartbeatClient::HeartbeatClient(std::string control_endpoint, std::shared_ptr<Transport> transport,
                                 int rank)
    : control_endpoint_(std::move(control_endpoint)),
      transport_(std::move(transport)),
      rank_(rank),
      connection_(transport_->Connect(control_endpoint_)) {}

HeartbeatClient::~HeartbeatClient() = default;

HeartbeatClient::Outcome HeartbeatClient::Send(const pb::WorkerMetrics& metrics, uint32_t session,
                                               pb::ControlReply* reply, int timeout_ms) {
  static std::atomic<uint64_t> next_id{1};
  std::string bytes;
  metrics.SerializeToString(&bytes);
  Header header;
  header.kind = static_cast<uint16_t>(Kind::HEARTBEAT);
  header.rank = rank_;
  header.session = session;
  header.request_id = next_id++;
  header.count = bytes.size();
  connection_->Send({{&header, sizeof(header)}, {bytes.data(), bytes.size()}});
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> frames;
  while (connection_->Receive(&frames, std::max(0, MillisecondsLeft(deadline)))) {
    Header h;
    try {
      h = ParseHeader(frames.empty() ? std::string() : frames[0]);
    } catch (const ProtocolError&) {
      continue;
    }
    if (h.request_id != header.request_id) continue;  // an earlier heartbeat's answer
    const std::string payload = frames.size() > 1 ? frames[1] : std::string();
    if (h.kind == static_cast<uint16_t>(Kind::ERROR)) {
      if (static_cast<ErrorCode>(h.seq) == ErrorCode::NOT_MEMBER) return Outcome::NOT_MEMBER;
      THROW_ERROR() << "the server at " << control_endpoint_
                    << " refused a heartbeat: " << EscapeForLog(payload, 1000);
    }
    if (h.kind == static_cast<uint16_t>(Kind::CONTROL_REPLY) && reply->ParseFromString(payload)) {
      return Outcome::OK;
    }
  }
  // A fresh connection: a restarted server is found again.
  connection_ = transport_->Connect(control_endpoint_);
  return Outcome::NO_ANSWER;
}

}  // namespace distributed
}  // namespace deepspark
