// The parameter server's side of its shard servers (shard_server.hpp): it
// hands each its key ranges and their initial values, learns their shard
// endpoints, keeps their membership in step with its own (a WELCOME waits
// until every shard server holds the membership that admits the rank), and
// ends the job when one is lost: its part of the center is gone.
//
// All of it runs on the control thread.
#include <algorithm>
#include <cstdio>

#include "server_internal.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;

// How long a poll with nothing new to answer is held: the longest a shard
// server waits to learn that the job is over.
constexpr int kPollHoldMs = 200;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string Describe(const RemoteShards& server, int process) {
  return "shard server " + std::to_string(process) +
         (server.joined
              ? " (pid " + std::to_string(server.pid) + " on " + EscapeForLog(server.host) + ")"
              : std::string());
}
}  // namespace

void ParameterServer::Impl::FailJob(const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(thread_failure_mutex);
    if (thread_failure.empty()) thread_failure = what;
  }
  LOG(ERROR) << what << "; ending the job";
  abandon_pulls = true;
  owner->stop_requested_ = true;
  job_done = true;
}

void ParameterServer::Impl::HandleShardJoin(const std::string& peer, const Header& header,
                                            const std::string& payload) {
  auto refuse = [&](ErrorCode code, const std::string& what) {
    SendControl(peer, header, Kind::ERROR, -1, static_cast<uint64_t>(code), what);
  };
  pb::ShardServerHello hello;
  if (!hello.ParseFromString(payload)) {
    return refuse(ErrorCode::BAD_MESSAGE, "malformed SHARD_JOIN");
  }
  int process = 0;
  for (size_t i = 0; i < shard_servers.size() && !process; ++i) {
    const RemoteShards& server = shard_servers[i];
    // A resend (its answer was lost) gets the same shards again.
    if (server.joined && !server.ready && hello.nonce() != 0 && server.nonce == hello.nonce()) {
      process = static_cast<int>(i) + 1;
    }
  }
  for (size_t i = 0; i < shard_servers.size() && !process; ++i) {
    if (!shard_servers[i].joined) process = static_cast<int>(i) + 1;
  }
  if (!process) {
    return refuse(
        ErrorCode::REFUSED,
        shard_servers.empty()
            ? std::string("this job keeps its whole center in one process (start the "
                          "server with --shard-servers M to split it)")
            : "the job has its " + std::to_string(shard_servers.size()) + " shard servers already");
  }
  RemoteShards& server = shard_servers[process - 1];
  const bool resend = server.joined;
  server.joined = true;
  server.nonce = hello.nonce();
  server.pid = hello.pid();
  server.host = hello.host();
  server.last_poll = Clock::now();
  pb::ShardAssignment assignment;
  assignment.set_process(process);
  for (size_t k = 0; k < server.shards.size(); ++k) {
    const int s = server.shards[k];
    assignment.add_shard(s);
    assignment.add_shard_begin(spec_template.shard_begin(s));
    assignment.add_shard_count(static_cast<int64_t>(server.initial[k].size()));
  }
  assignment.set_rule(opt->rule);
  *assignment.mutable_schedule() = opt->schedule;
  assignment.set_moving_rate(alpha);
  assignment.set_max_iter(solver.max_iter());
  assignment.set_poll_timeout_ms(opt->heartbeat_timeout_ms);
  assignment.set_tester_ticket(tester_ticket_);
  std::string bytes;
  assignment.SerializeToString(&bytes);
  Header h;
  h.kind = static_cast<uint16_t>(Kind::SHARD_ASSIGN);
  h.rank = process;
  h.request_id = header.request_id;
  h.count = bytes.size();
  std::vector<Frame> frames = {{&h, sizeof(h)}, {bytes.data(), bytes.size()}};
  for (const auto& slice : server.initial) {
    frames.push_back({slice.data(), slice.size() * sizeof(float)});
  }
  control->Send(peer, frames);
  if (!resend) {
    LOG(INFO) << Describe(server, process) << " joined: " << server.shards.size()
              << " shard(s) of the center";
  }
}

void ParameterServer::Impl::HandleShardPoll(const std::string& peer, const Header& header,
                                            const std::string& payload) {
  const auto now = Clock::now();
  auto refuse = [&](ErrorCode code, const std::string& what) {
    SendControl(peer, header, Kind::ERROR, -1, static_cast<uint64_t>(code), what);
  };
  pb::ShardServerPoll poll;
  if (!poll.ParseFromString(payload)) return refuse(ErrorCode::BAD_MESSAGE, "malformed SHARD_POLL");
  const int process = poll.process();
  if (process < 1 || process > static_cast<int>(shard_servers.size()) ||
      !shard_servers[process - 1].joined) {
    return refuse(ErrorCode::NOT_MEMBER,
                  "shard server " + std::to_string(process) + " is not part of this job");
  }
  RemoteShards& server = shard_servers[process - 1];
  if (!server.ready) {
    if (poll.endpoint_size() != static_cast<int>(server.shards.size())) {
      return refuse(ErrorCode::BAD_MESSAGE, "shard server " + std::to_string(process) + " names " +
                                                std::to_string(poll.endpoint_size()) +
                                                " endpoints for " +
                                                std::to_string(server.shards.size()) + " shards");
    }
    for (size_t k = 0; k < server.shards.size(); ++k) {
      spec_template.set_shard_endpoint(server.shards[k], poll.endpoint(static_cast<int>(k)));
    }
    server.ready = true;
    server.initial.clear();
    server.initial.shrink_to_fit();
    LOG(INFO) << Describe(server, process) << " ready at " << EscapeForLog(poll.endpoint(0))
              << (poll.endpoint_size() > 1 ? " and others" : "");
    bool all = true;
    for (const RemoteShards& s : shard_servers) all &= s.ready;
    if (all && !center_ready) {
      center_ready = true;
      LOG(INFO) << "All " << shard_servers.size() << " shard servers ready";
      std::vector<std::pair<std::string, std::vector<std::string>>> hellos;
      hellos.swap(deferred_hellos);
      for (const auto& hello : hellos) HandleControl(hello.first, hello.second);
    }
  }
  server.last_poll = now;
  server.acked_epoch = std::max(server.acked_epoch, poll.epoch());
  // As from a worker (param_server.cc): nothing past max_iter counts.
  AdvanceCenterIter(std::min(std::max(0, poll.center_iter()), std::max(0, solver.max_iter())));
  rejected_messages += std::max<int64_t>(0, poll.rejected_messages() - server.rejected);
  duplicate_requests += std::max<int64_t>(0, poll.duplicate_requests() - server.duplicates);
  server.rejected = std::max(server.rejected, poll.rejected_messages());
  server.duplicates = std::max(server.duplicates, poll.duplicate_requests());
  if (poll.epoch() < live_epoch || shutting_down) return AnswerPoll(&server, peer, header);
  // Nothing new: held until the membership changes (BroadcastLive answers
  // it then) or kPollHoldMs pass, so a join reaches the shard server at once
  // without a stream of polls.
  server.held = true;
  server.held_peer = peer;
  server.held_header = header;
  server.hold_until = now + std::chrono::milliseconds(kPollHoldMs);
}

void ParameterServer::Impl::AnswerPoll(RemoteShards* server, const std::string& peer,
                                       const Header& request) {
  pb::ShardServerState state;
  state.set_epoch(live_epoch);
  for (int rank : live_ranks) state.add_live(rank);
  state.set_center_iter(owner->center_iter_);
  state.set_stop(shutting_down.load());
  if (state.stop()) server->told_stop = true;
  std::string bytes;
  state.SerializeToString(&bytes);
  SendControl(peer, request, Kind::SHARD_STATE, -1, 0, bytes);
}

void ParameterServer::Impl::Welcome(const std::string& peer, const Header& request, int rank,
                                    const std::string& spec_bytes) {
  bool all_hold = true;
  for (const RemoteShards& server : shard_servers) all_hold &= server.acked_epoch >= live_epoch;
  if (all_hold) return SendControl(peer, request, Kind::WELCOME, rank, 0, spec_bytes);
  PendingWelcome pending;
  pending.peer = peer;
  pending.request = request;
  pending.rank = rank;
  pending.epoch = live_epoch;
  pending.spec_bytes = spec_bytes;
  pending_welcomes.push_back(std::move(pending));
}

void ParameterServer::Impl::TendShardServers(Clock::time_point now) {
  for (RemoteShards& server : shard_servers) {
    if (server.held && now >= server.hold_until) {
      server.held = false;
      AnswerPoll(&server, server.held_peer, server.held_header);
    }
  }
  if (job_done) return;
  if (!center_ready) {
    if (Seconds(start_time, now) > opt->shard_server_wait_s) {
      int ready = 0;
      for (const RemoteShards& server : shard_servers) ready += server.ready;
      FailJob("only " + std::to_string(ready) + " of " + std::to_string(shard_servers.size()) +
              " shard servers were ready within " + std::to_string(opt->shard_server_wait_s) +
              " s (start them with `deepspark shard-server --server " + control_endpoint +
              " --key-file K --listen tcp://HOST:0`)");
    }
    return;
  }
  uint64_t min_epoch = live_epoch;
  for (size_t i = 0; i < shard_servers.size(); ++i) {
    const RemoteShards& server = shard_servers[i];
    const double silent = Seconds(server.last_poll, now);
    if (silent * 1000 > opt->heartbeat_timeout_ms) {
      std::string shards;
      for (int s : server.shards) shards += (shards.empty() ? "" : ", ") + std::to_string(s);
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.1f", silent);
      return FailJob(Describe(server, static_cast<int>(i) + 1) + " silent for " + seconds +
                     " s: shards " + shards + " of the center are lost");
    }
    min_epoch = std::min(min_epoch, server.acked_epoch);
  }
  // WELCOMEs whose membership every shard server now holds.
  auto ready = [&](const PendingWelcome& p) { return p.epoch <= min_epoch; };
  for (const PendingWelcome& p : pending_welcomes) {
    if (ready(p)) SendControl(p.peer, p.request, Kind::WELCOME, p.rank, 0, p.spec_bytes);
  }
  pending_welcomes.erase(std::remove_if(pending_welcomes.begin(), pending_welcomes.end(), ready),
                         pending_welcomes.end());
}

void ParameterServer::Impl::DismissShardServers() {
  if (shard_servers.empty()) return;
  // Polls are answered with stop from now on (shutting_down is set).
  for (RemoteShards& server : shard_servers) {
    if (server.held) {
      server.held = false;
      AnswerPoll(&server, server.held_peer, server.held_header);
    }
  }
  // On a transport that loses messages a "stop" may be lost too: the
  // answer is repeated while the shard server still polls (its resends come
  // every resend_ms), until it has been quiet for two of them.
  const int resend_ms = transport->resend_ms();
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  auto last_poll = Clock::now();
  std::string peer;
  std::vector<std::string> frames;
  while (Clock::now() < deadline) {
    bool all_told = true;
    const auto now = Clock::now();
    for (const RemoteShards& server : shard_servers) {
      // One silent for five hold times is gone already.
      const bool gone = now - server.last_poll > std::chrono::milliseconds(5 * kPollHoldMs);
      all_told &= !server.ready || server.told_stop || gone;
    }
    const bool quiet =
        resend_ms < 0 || Clock::now() - last_poll > std::chrono::milliseconds(2 * resend_ms);
    if (all_told && quiet) return;
    if (control->Receive(&peer, &frames, 10)) {
      last_poll = Clock::now();
      HandleControl(peer, frames);
    }
  }
}

}  // namespace distributed
}  // namespace deepspark
