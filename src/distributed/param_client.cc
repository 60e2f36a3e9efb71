#include "deepspark/distributed/param_client.hpp"

#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "deepspark/distributed/exchange_rules.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;
constexpr int kAsyncTimeoutMs = 10000;
// A synchronous round waits for the slowest live worker, and for a dead one
// until the server drops it (heartbeat timeout): allow much longer.
constexpr int kSyncTimeoutMs = 60000;

std::string HostOf(const std::string& endpoint) {
  // tcp://HOST:PORT
  const size_t start = endpoint.find("://");
  const size_t colon = endpoint.rfind(':');
  if (start == std::string::npos || colon == std::string::npos || colon <= start + 3) return "";
  return endpoint.substr(start + 3, colon - start - 3);
}
}  // namespace

std::string ResolveShardEndpoint(const std::string& shard_endpoint,
                                 const std::string& control_endpoint) {
  if (shard_endpoint.rfind("tcp://", 0) != 0) return shard_endpoint;
  const std::string host = HostOf(shard_endpoint);
  if (host != "0.0.0.0" && host != "*" && host != "[::]") return shard_endpoint;
  const std::string port = shard_endpoint.substr(shard_endpoint.rfind(':') + 1);
  return "tcp://" + HostOf(control_endpoint) + ":" + port;
}

ParamClient::ParamClient(std::string control_endpoint, JobKey key, int requested_rank,
                         int rejoin_timeout_s)
    : control_endpoint_(std::move(control_endpoint)), key_(std::move(key)),
      requested_rank_(requested_rank), rejoin_timeout_s_(rejoin_timeout_s) {}

ParamClient::~ParamClient() = default;

const pb::JobSpec& ParamClient::Join() {
  const auto deadline = Clock::now() + std::chrono::seconds(rejoin_timeout_s_);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  pb::Hello hello;
  hello.set_requested_rank(spec_.has_rank() ? spec_.rank() : requested_rank_);
  hello.set_pid(getpid());
  hello.set_host(host);
  std::string bytes;
  hello.SerializeToString(&bytes);
  std::string last_problem = "no answer";
  while (Clock::now() < deadline) {
    // A fresh socket per attempt: no stale answers, and a restarted server
    // is found again.
    Socket socket(ZMQ_DEALER);
    socket.SetCurveClient(key_);
    socket.Connect(control_endpoint_);
    Header header;
    header.kind = static_cast<uint16_t>(Kind::HELLO);
    header.count = bytes.size();
    socket.Send({{&header, sizeof(header), false}, {bytes.data(), bytes.size(), false}});
    std::vector<std::string> frames;
    if (!socket.Receive(&frames, 2000)) continue;
    Header reply;
    if (frames.size() != 2 || !ValidateHeader(frames[0].data(), frames[0].size(), &reply).empty()) {
      last_problem = "malformed answer";
      continue;
    }
    if (reply.kind == static_cast<uint16_t>(Kind::ERROR)) {
      // A refusal (wrong rank, job full) is final.
      THROW_ERROR() << "the server at " << control_endpoint_ << " refused to join: " << frames[1];
    }
    pb::JobSpec spec;
    if (reply.kind != static_cast<uint16_t>(Kind::WELCOME) || !spec.ParseFromString(frames[1])) {
      last_problem = "unexpected answer";
      continue;
    }
    spec_ = spec;
    ConnectShards();
    rejoin_requested_ = false;
    return spec_;
  }
  THROW_ERROR() << "cannot join the job at " << control_endpoint_ << " within "
                << rejoin_timeout_s_ << " s (" << last_problem
                << "; is the server running, and is this the job's key?)";
  return spec_;
}

void ParamClient::ConnectShards() {
  shard_sockets_.clear();
  for (int s = 0; s < spec_.shard_endpoint_size(); ++s) {
    shard_sockets_.emplace_back(new Socket(ZMQ_DEALER));
    shard_sockets_.back()->SetCurveClient(key_);
    shard_sockets_.back()->Connect(ResolveShardEndpoint(spec_.shard_endpoint(s), control_endpoint_));
  }
  scratch_.assign(spec_.param_count(), 0.f);
  delta_.assign(spec_.param_count(), 0.f);
}

int64_t ParamClient::ShardBegin(int s) const { return spec_.shard_begin(s); }
int64_t ParamClient::ShardEnd(int s) const {
  return s + 1 < spec_.shard_begin_size() ? spec_.shard_begin(s + 1) : spec_.param_count();
}

bool ParamClient::RoundTrip(Kind kind, uint32_t mode, const std::vector<const float*>& payloads,
                            const std::vector<uint64_t>& seqs, int timeout_ms,
                            std::vector<Reply>* replies) {
  const int num_shards = static_cast<int>(shard_sockets_.size());
  std::vector<Header> headers(num_shards);
  for (int s = 0; s < num_shards; ++s) {
    Header& h = headers[s];
    h.kind = static_cast<uint16_t>(kind);
    h.rank = spec_.rank();
    h.shard = s;
    h.mode = mode;
    h.seq = seqs.empty() ? 0 : seqs[s];
    h.iter = static_cast<uint32_t>(std::max(iter_, 0));
    const size_t n = static_cast<size_t>(ShardEnd(s) - ShardBegin(s));
    if (payloads.empty()) {
      h.count = 0;
      shard_sockets_[s]->Send({{&h, sizeof(h), false}});
    } else {
      h.count = n;
      // Zero-copy: the caller's buffer stays unchanged until every answer
      // (which proves the message arrived) is in.
      shard_sockets_[s]->Send({{&h, sizeof(h), false},
                               {payloads[s] , n * sizeof(float), true}});
      stats_.bytes_sent += static_cast<int64_t>(n * sizeof(float));
    }
    stats_.bytes_sent += sizeof(Header);
  }
  replies->assign(num_shards, Reply());
  std::vector<bool> got(num_shards, false);
  int remaining = num_shards;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<zmq_pollitem_t> items(num_shards);
  bool ok = true;
  while (remaining > 0) {
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    // The heartbeat thread learns first when the server restarted or dropped
    // this rank; then no answer will come, so stop waiting and rejoin.
    if (rejoin_requested_) return false;
    for (int s = 0; s < num_shards; ++s) items[s] = {shard_sockets_[s]->get(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(items.data(), num_shards, std::min(left, 200)) <= 0) continue;
    for (int s = 0; s < num_shards; ++s) {
      if (!(items[s].revents & ZMQ_POLLIN) || got[s]) continue;
      std::vector<std::string> frames;
      if (!shard_sockets_[s]->Receive(&frames, 0)) continue;
      got[s] = true;
      --remaining;
      Reply& r = (*replies)[s];
      if (frames.empty() || !ValidateHeader(frames[0].data(), frames[0].size(), &r.header).empty()) {
        ok = false;
        continue;
      }
      if (frames.size() > 1) r.payload = std::move(frames[1]);
      stats_.bytes_received += static_cast<int64_t>(r.payload.size() + sizeof(Header));
      if (r.header.kind == static_cast<uint16_t>(Kind::ERROR)) {
        LOG(WARNING) << "shard " << s << " refused " << KindName(kind) << ": " << r.payload;
        ok = false;
      } else if (r.payload.size() != r.header.count * sizeof(float)) {
        ok = false;
      }
    }
  }
  return ok;
}

template <typename Fn>
void ParamClient::WithRetry(const char* what, Fn fn) {
  const auto deadline = Clock::now() + std::chrono::seconds(rejoin_timeout_s_);
  int attempt = 0;
  while (true) {
    if (rejoin_requested_) {
      LOG(WARNING) << what << ": the server no longer knows rank " << spec_.rank()
                   << " (it restarted, or dropped this worker); rejoining";
      Join();
    }
    if (fn()) return;
    ++attempt;
    REQUIRE(Clock::now() < deadline) << what << " failed for " << rejoin_timeout_s_
                                     << " s: the parameter server is gone";
    // A brief pause lets the server learn of a fresh join; after a few
    // failures, join again (the server may have restarted).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (attempt % 3 == 0) {
      LOG(WARNING) << what << ": no good answer from the server; rejoining";
      Join();
    } else {
      ConnectShards();
    }
  }
}

void ParamClient::PullCenter(float* out) {
  WithRetry("pull", [&] {
    std::vector<Reply> replies;
    if (!RoundTrip(Kind::PULL, 0, {}, {}, kAsyncTimeoutMs, &replies)) return false;
    for (int s = 0; s < static_cast<int>(replies.size()); ++s) {
      const size_t n = static_cast<size_t>(ShardEnd(s) - ShardBegin(s));
      if (replies[s].header.kind != static_cast<uint16_t>(Kind::CENTER) ||
          replies[s].payload.size() != n * sizeof(float)) {
        return false;
      }
      std::memcpy(out + ShardBegin(s), replies[s].payload.data(), n * sizeof(float));
    }
    return true;
  });
}

void ParamClient::AsyncElastic(float* x, float alpha, float factor) {
  const auto start = Clock::now();
  const int num_shards = static_cast<int>(shard_sockets_.size());
  WithRetry("exchange", [&] {
    std::vector<Reply> replies;
    if (!RoundTrip(Kind::PULL, 0, {}, {}, kAsyncTimeoutMs, &replies)) return false;
    std::vector<uint64_t> pulled(num_shards);
    std::vector<const float*> payloads(num_shards);
    for (int s = 0; s < num_shards; ++s) {
      const int64_t b = ShardBegin(s);
      const size_t n = static_cast<size_t>(ShardEnd(s) - b);
      if (replies[s].payload.size() != n * sizeof(float)) return false;
      pulled[s] = replies[s].header.seq;
      const float* c = reinterpret_cast<const float*>(replies[s].payload.data());
      ElasticWorkerStep(x + b, c, alpha, factor, n, delta_.data() + b);
      payloads[s] = delta_.data() + b;
    }
    // x has moved: the exchange is not redone. A lost push only costs a
    // little of the elastic pull.
    if (!RoundTrip(Kind::PUSH, kPushAdd, payloads, pulled, kAsyncTimeoutMs, &replies)) return true;
    for (int s = 0; s < num_shards; ++s) {
      if (replies[s].header.kind == static_cast<uint16_t>(Kind::PUSH_ACK)) {
        stats_.staleness_total += static_cast<double>(replies[s].header.seq - pulled[s]) / num_shards;
      }
    }
    return true;
  });
  ++stats_.exchanges;
  stats_.exchange_ms_total += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void ParamClient::Mirror(const float* x) {
  const auto start = Clock::now();
  const int num_shards = static_cast<int>(shard_sockets_.size());
  WithRetry("mirror", [&] {
    std::vector<const float*> payloads(num_shards);
    for (int s = 0; s < num_shards; ++s) payloads[s] = x + ShardBegin(s);
    std::vector<Reply> replies;
    return RoundTrip(Kind::PUSH, kPushReplace, payloads, {}, kAsyncTimeoutMs, &replies);
  });
  ++stats_.exchanges;
  stats_.exchange_ms_total += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void ParamClient::SyncRound(pb::Mode mode, const float* contribution, float* result) {
  const auto start = Clock::now();
  const int num_shards = static_cast<int>(shard_sockets_.size());
  WithRetry("synchronous round", [&] {
    std::vector<const float*> payloads(num_shards);
    for (int s = 0; s < num_shards; ++s) payloads[s] = contribution + ShardBegin(s);
    std::vector<Reply> replies;
    if (!RoundTrip(Kind::SYNC, static_cast<uint32_t>(mode), payloads, {}, kSyncTimeoutMs,
                   &replies)) {
      return false;
    }
    for (int s = 0; s < num_shards; ++s) {
      const size_t n = static_cast<size_t>(ShardEnd(s) - ShardBegin(s));
      if (replies[s].header.kind != static_cast<uint16_t>(Kind::SYNC_RESULT) ||
          replies[s].payload.size() != n * sizeof(float)) {
        return false;
      }
      std::memcpy(result + ShardBegin(s), replies[s].payload.data(), n * sizeof(float));
    }
    return true;
  });
  ++stats_.exchanges;
  stats_.exchange_ms_total += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<std::string> ParamClient::RawShardRequest(int shard, const Header& header,
                                                      const std::string& payload, int timeout_ms) {
  CHECK_LT(shard, static_cast<int>(shard_sockets_.size()));
  if (payload.empty()) {
    shard_sockets_[shard]->Send({{&header, sizeof(header), false}});
  } else {
    shard_sockets_[shard]->Send(
        {{&header, sizeof(header), false}, {payload.data(), payload.size(), false}});
  }
  std::vector<std::string> frames;
  shard_sockets_[shard]->Receive(&frames, timeout_ms);
  return frames;
}

HeartbeatClient::HeartbeatClient(std::string control_endpoint, JobKey key, int rank)
    : control_endpoint_(std::move(control_endpoint)), key_(std::move(key)), rank_(rank) {
  Reconnect();
}

HeartbeatClient::~HeartbeatClient() = default;

void HeartbeatClient::Reconnect() {
  socket_.reset(new Socket(ZMQ_DEALER));
  socket_->SetCurveClient(key_);
  socket_->Connect(control_endpoint_);
}

bool HeartbeatClient::Send(const pb::WorkerMetrics& metrics, pb::ControlReply* reply,
                           int timeout_ms) {
  std::string bytes;
  metrics.SerializeToString(&bytes);
  Header header;
  header.kind = static_cast<uint16_t>(Kind::HEARTBEAT);
  header.rank = rank_;
  header.count = bytes.size();
  socket_->Send({{&header, sizeof(header), false}, {bytes.data(), bytes.size(), false}});
  std::vector<std::string> frames;
  if (!socket_->Receive(&frames, timeout_ms)) {
    Reconnect();
    return false;
  }
  Header h;
  if (frames.size() != 2 || !ValidateHeader(frames[0].data(), frames[0].size(), &h).empty() ||
      h.kind != static_cast<uint16_t>(Kind::CONTROL_REPLY) || !reply->ParseFromString(frames[1])) {
    Reconnect();
    return false;
  }
  return true;
}

}  // namespace distributed
}  // namespace deepspark
