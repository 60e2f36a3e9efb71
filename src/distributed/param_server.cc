#include "deepspark/distributed/param_server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {

// ---------------------------------------------------------------------------
// Shard: one owner thread per contiguous range of the center.

namespace {
// How long the shard waits for a message before it looks at membership.
constexpr int kShardPollMs = 20;
}  // namespace

Shard::Shard(ShardHost* host, int index, int64_t begin, std::vector<float> center,
             std::unique_ptr<Port> port, std::unique_ptr<ExchangeRule> rule)
    : index(index),
      begin(begin),
      address(port->address()),
      host_(host),
      center_(std::move(center)),
      port_(std::move(port)),
      rule_(std::move(rule)) {}

void Shard::SetLive(const std::set<int>& live) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  pending_live_ = live;
  live_changed_ = true;
}

void Shard::PickUpMembership() {
  if (!live_changed_.exchange(false)) return;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    live_ = pending_live_;
  }
  rule_->OnMembershipChange(*this);
}

ExchangeRates Shard::rates() const { return host_->CurrentRates(); }

void Shard::Run() {
  std::string peer;
  std::vector<std::string> frames;
  while (!host_->closing()) {
    const bool got = port_->Receive(&peer, &frames, kShardPollMs);
    // After the receive: a join is broadcast before its WELCOME goes out, so
    // the new member's first request never finds it missing.
    PickUpMembership();
    if (got) Handle(peer, frames);
  }
}

void Shard::Send(const std::string& peer, const Header& request, Kind kind, uint64_t seq,
                 const void* data, size_t bytes) {
  Header header;
  header.kind = static_cast<uint16_t>(kind);
  header.rank = request.rank;
  header.shard = index;
  header.session = request.session;
  header.request_id = request.request_id;
  header.seq = seq;
  header.count = kind == Kind::ERROR ? bytes : bytes / sizeof(float);
  // Copied into the message: the center changes as soon as this returns.
  if (bytes) {
    port_->Send(peer, {{&header, sizeof(header)}, {data, bytes}});
  } else {
    port_->Send(peer, {{&header, sizeof(header)}});
  }
}

void Shard::SendError(const std::string& peer, const Header& request, ErrorCode code,
                      const std::string& what) {
  Send(peer, request, Kind::ERROR, static_cast<uint64_t>(code), what.data(), what.size());
  host_->CountRejected();
}

void Shard::SendRecord(const Record& record, int rank) {
  Header request;
  request.rank = rank;
  request.session = record.session;
  request.request_id = record.request_id;
  if (record.kind == Kind::ERROR) {
    Send(record.peer, request, Kind::ERROR, record.seq, record.error.data(), record.error.size());
  } else if (record.tensor) {
    Send(record.peer, request, record.kind, record.seq, record.tensor->data(),
         record.tensor->size() * sizeof(float));
  } else {
    Send(record.peer, request, record.kind, record.seq, nullptr, 0);
  }
}

void Shard::Answer(const ShardRequest& request, Kind kind, uint64_t seq,
                   std::shared_ptr<const std::vector<float>> tensor) {
  auto it = records_.find(request.rank);
  if (it == records_.end() || it->second.session != request.session ||
      it->second.request_id != request.request_id) {
    return;  // superseded: the rank rejoined and asked anew
  }
  Record& record = it->second;
  record.answered = true;
  record.kind = kind;
  record.seq = seq;
  record.tensor = std::move(tensor);
  SendRecord(record, request.rank);
}

void Shard::Handle(const std::string& peer, const std::vector<std::string>& frames) {
  Header header;
  try {
    header = ParseHeader(frames.empty() ? std::string() : frames[0]);
  } catch (const ProtocolError& e) {
    return SendError(peer, Header(), ErrorCode::BAD_MESSAGE, e.what());
  }
  const std::string empty;
  const std::string& payload = frames.size() > 1 ? frames[1] : empty;
  const size_t n = center_.size();
  if (header.shard != index) {
    return SendError(peer, header, ErrorCode::BAD_MESSAGE,
                     "message for shard " + std::to_string(header.shard) + " sent to shard " +
                         std::to_string(index));
  }
  const Kind kind = static_cast<Kind>(header.kind);
  const bool is_tester = header.rank == kTesterRank;
  if (is_tester && (kind != Kind::PULL || header.seq != host_->tester_ticket())) {
    return SendError(peer, header, ErrorCode::NOT_MEMBER,
                     "rank " + std::to_string(kTesterRank) +
                         " is the server's tester (it only pulls, with its ticket)");
  }
  if (!is_tester && !live_.count(header.rank)) {
    return SendError(
        peer, header, ErrorCode::NOT_MEMBER,
        "rank " + std::to_string(header.rank) + " is not a member of the job (say hello first)");
  }
  if (kind == Kind::PULL) {
    if (!payload.empty() || header.count != 0) {
      return SendError(peer, header, ErrorCode::BAD_MESSAGE, "PULL carries no payload");
    }
    return Send(peer, header, Kind::CENTER, version_, center_.data(), n * sizeof(float));
  }
  if (kind != Kind::PUSH && kind != Kind::SYNC) {
    return SendError(peer, header, ErrorCode::BAD_MESSAGE,
                     std::string("unexpected ") + KindName(kind) + " at a shard");
  }
  if (header.count != n || payload.size() != n * sizeof(float)) {
    return SendError(peer, header, ErrorCode::BAD_MESSAGE,
                     std::string(KindName(kind)) + " of " + std::to_string(header.count) +
                         " floats (" + std::to_string(payload.size()) + " bytes) to shard " +
                         std::to_string(index) + " of " + std::to_string(n) +
                         " floats: shape does not match the net");
  }
  // A worker's iteration never passes the solver's max_iter; a larger one
  // (a bad or malicious peer) would run the center's iteration, and the
  // tests and snapshots keyed to it, past the end of the job.
  if (header.iter > static_cast<uint32_t>(std::max(0, host_->max_iter()))) {
    return SendError(peer, header, ErrorCode::BAD_MESSAGE,
                     std::string(KindName(kind)) + " at iteration " + std::to_string(header.iter) +
                         ", past the job's max_iter " + std::to_string(host_->max_iter()));
  }
  // One NaN or Inf taken into the center would spread to every worker at
  // its next pull and end as a NaN model: refused, the center unchanged.
  const float* values = reinterpret_cast<const float*>(payload.data());
  const int64_t bad = FirstNonFinite(values, n);
  if (bad >= 0) {
    return SendError(peer, header, ErrorCode::BAD_MESSAGE,
                     std::string(KindName(kind)) + " from rank " + std::to_string(header.rank) +
                         " carries a non-finite value (" + std::to_string(values[bad]) +
                         " at float " + std::to_string(begin + bad) +
                         "): the center keeps its values");
  }
  // Duplicates and stale requests (exchange_rule.hpp). request_id 0 names
  // no request (a raw test message): always taken.
  Record& record = records_[header.rank];
  if (header.session < record.session) return;
  if (header.session > record.session) record = Record();
  record.session = header.session;
  if (header.request_id != 0) {
    if (header.request_id < record.request_id) return;
    if (header.request_id == record.request_id) {
      host_->CountDuplicate();
      record.peer = peer;  // a round still open answers here now
      if (record.answered) SendRecord(record, header.rank);
      return;
    }
  }
  record.request_id = header.request_id;
  record.peer = peer;
  record.answered = false;
  record.tensor.reset();
  host_->AdvanceCenterIter(static_cast<int>(header.iter));
  ShardRequest request;
  request.rank = header.rank;
  request.kind = kind;
  request.iter = static_cast<int>(header.iter);
  request.session = header.session;
  request.request_id = header.request_id;
  request.tensor = reinterpret_cast<const float*>(payload.data());
  request.count = n;
  try {
    rule_->OnRequest(*this, request);
  } catch (const ProtocolError& e) {
    record.answered = true;
    record.kind = Kind::ERROR;
    record.seq = static_cast<uint64_t>(ErrorCode::BAD_MESSAGE);
    record.error = e.what();
    host_->CountRejected();
    SendRecord(record, header.rank);
  }
}

// ---------------------------------------------------------------------------

ParameterServer::ParameterServer(ServerOptions options)
    : options_(std::move(options)), impl_(new Impl(this, &options_)) {}

ParameterServer::~ParameterServer() {
  if (impl_) impl_->Shutdown();
}

void ParameterServer::Start() {
  impl_->Start();
  control_endpoint_ = impl_->control_endpoint;
  param_count_ = impl_->param_count;
  center_iter_ = impl_->restored_iter;
}

ServerResult ParameterServer::Wait() { return impl_->Wait(); }

std::vector<float> ParameterServer::CenterForTest() { return impl_->PullCenterCopy(nullptr); }

}  // namespace distributed
}  // namespace deepspark
