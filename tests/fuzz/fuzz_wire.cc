// Fuzz target: every message a parameter server and a worker parse. A real
// ParameterServer (a tiny job) runs on the in-process network; each input is
// sent, as one to three frames, to its control endpoint or to one of its
// shards, with or without the session of a worker that joined (then the
// header's rank and session are that worker's, so the input reaches the
// checks past membership), and the answer is awaited briefly. Or the input
// is a job description (WELCOME) as a worker checks it before connecting.
// First byte: where it goes and how it is framed.
#include <google/protobuf/text_format.h>

#include <cstring>
#include <memory>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"
#include "fuzz_util.hpp"

using namespace deepspark;
using namespace deepspark::distributed;

namespace {
const char* kNet = R"(
  layer { name: "data" type: "DummyData" top: "data"
          dummy_data_param { shape { dim: 2 dim: 3 } data_filler { type: "constant" value: 1 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
          inner_product_param { num_output: 2 } }
)";

struct Job {
  InProcessNetwork network{1};
  std::unique_ptr<ParameterServer> server;
  std::unique_ptr<ParamClient> worker;
  std::shared_ptr<Transport> peer;
  std::vector<std::unique_ptr<Connection>> to;  // control, shard 0, shard 1

  Job() {
    ServerOptions opt;
    google::protobuf::TextFormat::ParseFromString(kNet, opt.solver.mutable_net_param());
    opt.solver.set_max_iter(1000000);
    opt.solver_path = "fuzz_solver";
    opt.num_workers = 4;
    opt.server_threads = 2;
    opt.listen = "mem://fuzz";
    opt.transport = network.Node("server");
    opt.metrics_path = "/dev/null";
    opt.heartbeat_timeout_ms = 1 << 30;
    opt.idle_timeout_s = 1 << 20;
    opt.quiet = true;
    server = std::make_unique<ParameterServer>(opt);
    server->Start();
    worker = std::make_unique<ParamClient>(server->control_endpoint(), JobKey(), 0, 10,
                                           network.Node("worker"));
    worker->Join();
    peer = network.Node("peer");
    to.push_back(peer->Connect(server->control_endpoint()));
    for (int s = 0; s < 2; ++s) to.push_back(peer->Connect(worker->spec().shard_endpoint(s)));
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Job* job = new Job;  // lives as long as the process
  const uint8_t how = data[0];
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  if ((how & 3) == 3) {  // a WELCOME as the worker checks it
    pb::JobSpec spec;
    if (!spec.ParseFromArray(body, static_cast<int>(n))) return 0;
    try {
      ShardCaller(job->peer).Connect(spec, "mem://fuzz");
    } catch (const Error&) {
    }
    return 0;
  }
  // Frame 0: a 48-byte header from the input (zero-padded), or shorter.
  const size_t header_bytes = (how & 4) ? std::min(n, sizeof(Header)) : std::min(n, size_t{47});
  Header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(&header, body, std::min(header_bytes, sizeof(header)));
  if (how & 8) {  // in a worker's session
    header.magic = kMagic;
    header.version = kProtocolVersion;
    header.rank = job->worker->rank();
    header.session = job->worker->session();
  }
  std::vector<Frame> frames = {{&header, (how & 4) ? sizeof(Header) : header_bytes}};
  const uint8_t* rest = body + header_bytes;
  const size_t rest_bytes = n - header_bytes;
  if (how & 16) {
    frames.push_back({rest, rest_bytes / 2});
    frames.push_back({rest + rest_bytes / 2, rest_bytes - rest_bytes / 2});
  } else if (rest_bytes > 0) {
    frames.push_back({rest, rest_bytes});
  }
  Connection* to = job->to[(how & 3) % job->to.size()].get();
  to->Send(frames);
  std::vector<std::string> reply;
  while (to->Receive(&reply, 2)) {
  }
  return 0;
}
