#include "deepspark/distributed/param_server.hpp"

#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "deepspark/distributed/exchange_rules.hpp"
#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {


// ---------------------------------------------------------------------------
// Shard: one owner thread per contiguous range of the center.

void Shard::Run() {
  Socket members(ZMQ_PULL);
  members.Bind(member_endpoint);
  member_ready.set_value();
  zmq_pollitem_t items[2] = {{socket->get(), 0, ZMQ_POLLIN, 0}, {members.get(), 0, ZMQ_POLLIN, 0}};
  std::vector<std::string> frames;
  while (!impl->shutting_down) {
    int rc = zmq_poll(items, 2, 200);
    if (rc < 0) continue;
    if (items[1].revents & ZMQ_POLLIN) {
      if (members.Receive(&frames, 0) && !frames.empty()) {
        live.clear();
        const int32_t* ranks = reinterpret_cast<const int32_t*>(frames[0].data());
        for (size_t i = 0; i < frames[0].size() / sizeof(int32_t); ++i) live.insert(ranks[i]);
        MaybeCompleteRound();
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      if (socket->Receive(&frames, 0)) HandleMessage(frames);
    }
  }
}

void Shard::Reply(const std::string& identity, Kind kind, uint64_t seq, const void* data,
                  size_t floats) {
  Header header;
  header.kind = static_cast<uint16_t>(kind);
  header.shard = index;
  header.seq = seq;
  header.count = floats;
  // The center changes as soon as this returns, so it is copied (not
  // zero-copy) into the message.
  socket->Send({{identity.data(), identity.size(), false},
                {&header, sizeof(header), false},
                {data, floats * sizeof(float), false}});
}

void Shard::ReplyError(const std::string& identity, const std::string& what) {
  Header header;
  header.kind = static_cast<uint16_t>(Kind::ERROR);
  header.shard = index;
  header.count = what.size();
  socket->Send({{identity.data(), identity.size(), false},
                {&header, sizeof(header), false},
                {what.data(), what.size(), false}});
  ++impl->rejected_messages;
}

void Shard::HandleMessage(const std::vector<std::string>& frames) {
  if (frames.size() < 2) return;
  const std::string& identity = frames[0];
  Header header;
  std::string problem = ValidateHeader(frames[1].data(), frames[1].size(), &header);
  if (!problem.empty()) return ReplyError(identity, problem);
  const size_t n = center.size();
  if (header.shard != index) {
    return ReplyError(identity, "message for shard " + std::to_string(header.shard) +
                                    " sent to shard " + std::to_string(index));
  }
  const Kind kind = static_cast<Kind>(header.kind);
  const bool is_tester = header.rank == kTesterRank;
  if (!is_tester && !live.count(header.rank)) {
    return ReplyError(identity, "rank " + std::to_string(header.rank) +
                                    " is not a member of the job (say hello first)");
  }
  const size_t payload_bytes = frames.size() > 2 ? frames[2].size() : 0;
  switch (kind) {
    case Kind::PULL:
      if (payload_bytes != 0 || header.count != 0)
        return ReplyError(identity, "PULL carries no payload");
      return Reply(identity, Kind::CENTER, version, center.data(), n);
    case Kind::PUSH: {
      if (is_tester) return ReplyError(identity, "the tester cannot push");
      if (header.count != n || payload_bytes != n * sizeof(float)) {
        return ReplyError(identity, "PUSH of " + std::to_string(header.count) + " floats (" +
                                        std::to_string(payload_bytes) + " bytes) to shard " +
                                        std::to_string(index) + " of " + std::to_string(n) +
                                        " floats: shape does not match the net");
      }
      if (header.mode != kPushAdd && header.mode != kPushReplace) {
        return ReplyError(identity, "PUSH with an unknown mode " + std::to_string(header.mode));
      }
      const float* payload = reinterpret_cast<const float*>(frames[2].data());
      if (header.mode == kPushReplace) {
        std::memcpy(center.data(), payload, n * sizeof(float));
      } else {
        ApplyDelta(center.data(), payload, n);
      }
      impl->AdvanceCenterIter(static_cast<int>(header.iter));
      const uint64_t applied_at = version++;
      return Reply(identity, Kind::PUSH_ACK, applied_at, nullptr, 0);
    }
    case Kind::SYNC: {
      if (is_tester) return ReplyError(identity, "the tester cannot join a round");
      if (header.count != n || payload_bytes != n * sizeof(float)) {
        return ReplyError(identity, "SYNC of " + std::to_string(header.count) +
                                        " floats to a shard of " + std::to_string(n) +
                                        ": shape does not match the net");
      }
      if (header.mode > pb::Mode_MAX || header.mode == pb::ASYNC_EASGD) {
        return ReplyError(identity, "SYNC with a mode that has no rounds");
      }
      if (!round_members.empty() && header.mode != round_mode) {
        return ReplyError(identity, "SYNC of another mode while a round is open");
      }
      for (const auto& member : round_members) {
        if (member.second == header.rank) return ReplyError(identity, "rank already in this round");
      }
      if (round_members.empty()) {
        round_sum.assign(n, 0.f);
        round_mode = header.mode;
      }
      const float* x = reinterpret_cast<const float*>(frames[2].data());
      for (size_t i = 0; i < n; ++i) round_sum[i] += x[i];
      impl->AdvanceCenterIter(static_cast<int>(header.iter));
      round_members.emplace_back(identity, header.rank);
      return MaybeCompleteRound();
    }
    default:
      return ReplyError(identity, std::string("unexpected ") + KindName(kind) + " at a shard");
  }
}

void Shard::MaybeCompleteRound() {
  if (round_members.empty()) return;
  std::set<int> in_round;
  for (const auto& member : round_members) in_round.insert(member.second);
  for (int rank : live) {
    if (!in_round.count(rank)) return;  // still waiting for a live worker
  }
  const int k = static_cast<int>(round_members.size());
  const size_t n = center.size();
  std::vector<float> result(n);
  switch (static_cast<pb::Mode>(round_mode)) {
    case pb::SYNC_EASGD:
      // Everyone moves towards the same (old) center; the center moves by
      // the sum of their elastic differences.
      result = center;
      SyncElasticCenterUpdate(center.data(), round_sum.data(), k, impl->CurrentAlpha(), n);
      ++version;
      break;
    case pb::MODEL_AVERAGING:
      Average(round_sum.data(), k, center.data(), n);
      result = center;
      ++version;
      break;
    case pb::SYNC_SGD:
      Average(round_sum.data(), k, result.data(), n);
      break;
    default:
      break;
  }
  for (const auto& member : round_members) {
    Reply(member.first, Kind::SYNC_RESULT, version, result.data(), n);
  }
  round_members.clear();
  ++rounds_completed;
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

std::vector<float> ParameterServer::CenterForTest() { return impl_->PullCenterCopy(); }

}  // namespace distributed
}  // namespace deepspark
