// Fuzz target: the answers a worker and a shard server parse (fuzz_wire
// covers what the server parses). On the in-process network a fake peer
// answers every request first with the input, then correctly, so a call
// that survives the input finishes at once:
//  - worker: a ShardCaller of a two-shard job (8 floats) sends PULL, PUSH or
//    SYNC to fake shards, which answer with the input's frames;
//  - shard server: a ShardServer joins a fake control endpoint, which
//    answers its SHARD_JOIN with the input's frames as the SHARD_ASSIGN (the
//    shard slices among them), then ends the job at its first poll.
// First byte: bit 0 the side; bit 1 patches the answer's header (magic,
// version, request id, session; and SHARD_ASSIGN on the shard server's
// side) so it gets past the first checks; bits 2-3 the worker's request.
// The rest: frames, each a 16-bit little-endian length and its bytes (the
// last one takes what is left).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/shard_server.hpp"
#include "deepspark/distributed/transport.hpp"
#include "deepspark/proto/deepspark.pb.h"
#include "fuzz_util.hpp"

using namespace deepspark;
using namespace deepspark::distributed;

namespace {
constexpr int64_t kFloats = 8;
const char* const kShards[2] = {"mem://fake-shard-0", "mem://fake-shard-1"};
const char* const kControl = "mem://fake-control";

std::vector<std::string> SplitFrames(const uint8_t* data, size_t size) {
  std::vector<std::string> frames;
  while (size > 0 && frames.size() < 8) {
    size_t length = size;
    if (size >= 2) {
      length = std::min<size_t>(size - 2, data[0] | (data[1] << 8));
      data += 2;
      size -= 2;
    }
    frames.emplace_back(reinterpret_cast<const char*>(data), length);
    data += length;
    size -= length;
  }
  return frames;
}

// What the fake peers answer next, set per input.
struct Script {
  std::mutex mutex;
  std::vector<std::string> frames;
  bool patch = false;
};

std::vector<Frame> AsFrames(const std::vector<std::string>& strings) {
  std::vector<Frame> frames;
  for (const auto& s : strings) frames.push_back({s.data(), s.size()});
  return frames;
}

// The input's frames, its header patched to answer `request` if asked.
std::vector<std::string> Answer(Script* script, const Header& request, Kind kind) {
  std::lock_guard<std::mutex> lock(script->mutex);
  std::vector<std::string> frames = script->frames;
  if (script->patch) {
    if (frames.empty()) frames.emplace_back();
    Header h;
    std::memcpy(&h, frames[0].data(), std::min(frames[0].size(), sizeof(h)));
    h.magic = kMagic;
    h.version = kProtocolVersion;
    h.request_id = request.request_id;
    h.session = request.session;
    if (kind == Kind::SHARD_ASSIGN) h.kind = static_cast<uint16_t>(kind);
    frames[0].assign(reinterpret_cast<const char*>(&h), sizeof(h));
  }
  return frames;
}

struct Fakes {
  InProcessNetwork network{1};
  std::shared_ptr<Transport> fake = network.Node("fake");
  std::vector<std::unique_ptr<Port>> shard_ports, control_port;
  Script script;
  std::atomic<bool> closing{false};
  std::thread responder;
  ShardCaller caller{network.Node("worker")};
  std::shared_ptr<Transport> shard_server_node = network.Node("shard-server");

  Fakes() {
    for (const char* address : kShards) shard_ports.push_back(fake->Listen(address));
    control_port.push_back(fake->Listen(kControl));
    pb::JobSpec spec;
    spec.set_param_count(kFloats);
    for (int s = 0; s < 2; ++s) {
      spec.add_shard_endpoint(kShards[s]);
      spec.add_shard_begin(s * kFloats / 2);
    }
    spec.set_num_workers(1);
    spec.set_rank(0);
    spec.set_session(7);
    spec.set_tau(1);
    spec.set_lr_scale(1);
    spec.set_lr_schedule_scale(1);
    spec.set_rule("async-easgd");
    caller.Connect(spec, kControl);
    responder = std::thread([this] { Respond(); });
  }

  void Respond() {
    std::string peer;
    std::vector<std::string> request;
    while (!closing) {
      for (int s = 0; s < 2; ++s) {
        if (!shard_ports[s]->Receive(&peer, &request, 1)) continue;
        AnswerShard(s, peer, request);
      }
      if (control_port[0]->Receive(&peer, &request, 1)) AnswerControl(peer, request);
    }
  }

  void AnswerShard(int s, const std::string& peer, const std::vector<std::string>& request) {
    const Header in = ParseHeader(request.at(0));
    shard_ports[s]->Send(peer, AsFrames(Answer(&script, in, Kind::CENTER)));
    Header out;
    out.kind =
        static_cast<uint16_t>(in.kind == static_cast<uint16_t>(Kind::PULL)   ? Kind::CENTER
                              : in.kind == static_cast<uint16_t>(Kind::PUSH) ? Kind::PUSH_ACK
                                                                             : Kind::SYNC_RESULT);
    out.rank = in.rank;
    out.shard = s;
    out.session = in.session;
    out.request_id = in.request_id;
    const bool tensor = out.kind != static_cast<uint16_t>(Kind::PUSH_ACK);
    const std::vector<float> values(kFloats / 2, 0.5f);
    out.count = tensor ? values.size() : 0;
    std::vector<Frame> frames = {{&out, sizeof(out)}};
    if (tensor) frames.push_back({values.data(), values.size() * sizeof(float)});
    shard_ports[s]->Send(peer, frames);
  }

  void AnswerControl(const std::string& peer, const std::vector<std::string>& request) {
    const Header in = ParseHeader(request.at(0));
    Header out;
    out.request_id = in.request_id;
    if (in.kind == static_cast<uint16_t>(Kind::SHARD_JOIN)) {
      control_port[0]->Send(peer, AsFrames(Answer(&script, in, Kind::SHARD_ASSIGN)));
      // Then a refusal, which ends a join the input's answer left waiting.
      out.kind = static_cast<uint16_t>(Kind::ERROR);
      out.seq = static_cast<uint64_t>(ErrorCode::REFUSED);
      const std::string text = "fuzz: no shards";
      control_port[0]->Send(peer, {{&out, sizeof(out)}, {text.data(), text.size()}});
      return;
    }
    pb::ShardServerState state;  // a poll: the job is over
    state.set_stop(true);
    const std::string bytes = state.SerializeAsString();
    out.kind = static_cast<uint16_t>(Kind::SHARD_STATE);
    control_port[0]->Send(peer, {{&out, sizeof(out)}, {bytes.data(), bytes.size()}});
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Fakes* fakes = new Fakes;  // lives as long as the process
  const uint8_t how = data[0];
  {
    std::lock_guard<std::mutex> lock(fakes->script.mutex);
    fakes->script.frames = SplitFrames(data + 1, size - 1);
    fakes->script.patch = how & 2;
  }
  try {
    if (how & 1) {
      ShardServerOptions opt;
      opt.server = kControl;
      opt.listen = "mem://fuzz-shard-server";
      opt.transport = fakes->shard_server_node;
      opt.give_up_ms = 2000;
      opt.quiet = true;
      ShardServer(opt).Run();
    } else {
      const Kind kinds[4] = {Kind::PULL, Kind::PUSH, Kind::SYNC, Kind::PULL};
      const Kind kind = kinds[(how >> 2) & 3];
      std::vector<float> tensor(kFloats, 1.f), result(kFloats);
      std::vector<uint64_t> seqs;
      fakes->caller.Call(kind, kind == Kind::PULL ? nullptr : tensor.data(), result.data(), &seqs,
                         2000);
    }
  } catch (const Error& e) {
    if (std::getenv("FUZZ_VERBOSE")) fprintf(stderr, "refused: %s\n", e.what());
    return 0;
  }
  if (std::getenv("FUZZ_VERBOSE")) fprintf(stderr, "accepted\n");
  return 0;
}
