// The wire protocol between workers and the parameter server, over ZeroMQ.
//
// Every message is [header][payload]: a fixed 40-byte Header, then either a
// serialized control protobuf (deepspark.proto) or a raw tensor of `count`
// floats. Receivers validate the header (magic, version, kind, sizes, rank,
// shard) before a message touches any state; a bad message is answered with
// ERROR and otherwise ignored.
//
// Sockets: one ROUTER "control" endpoint (join, heartbeats, done) and one
// ROUTER endpoint per center shard, each owned by one server thread. All
// sockets use CURVE: the server's keypair and the one client keypair of the
// job live in a job key file; the server's ZAP handler admits only the job's
// client key, so a process without the key cannot pull or push.
//
// Thread safety: ZeroMQ sockets belong to one thread; Context is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {
namespace distributed {

constexpr uint32_t kMagic = 0x4B505344;  // "DSPK" little-endian
constexpr uint16_t kProtocolVersion = 1;

// PUSH modes: add the payload to the center (EASGD), or replace the center
// with it (sync SGD, where every worker holds the same parameters, so
// concurrent replacements agree; deltas from several workers would add up).
constexpr uint32_t kPushAdd = 0;
constexpr uint32_t kPushReplace = 1;

enum class Kind : uint16_t {
  HELLO = 1,          // worker -> control: pb Hello
  WELCOME = 2,        // control -> worker: pb JobSpec
  HEARTBEAT = 3,      // worker -> control: pb WorkerMetrics
  CONTROL_REPLY = 4,  // control -> worker: pb ControlReply
  PULL = 5,           // worker -> shard: no payload
  CENTER = 6,         // shard -> worker: center shard; seq = center version
  PUSH = 7,           // worker -> shard: delta (mode kPushReplace: the new
                      // shard itself); seq = version pulled
  PUSH_ACK = 8,       // shard -> worker: seq = version the delta was applied at
  SYNC = 9,           // worker -> shard: round contribution (params or grads)
  SYNC_RESULT = 10,   // shard -> worker: the round's result
  ERROR = 11,         // either way: payload is a message
};
const char* KindName(Kind kind);

#pragma pack(push, 1)
struct Header {
  uint32_t magic = kMagic;
  uint16_t version = kProtocolVersion;
  uint16_t kind = 0;
  int32_t rank = -1;
  int32_t shard = -1;
  uint64_t seq = 0;
  uint64_t count = 0;  // floats in a tensor payload, bytes in a pb payload
  uint32_t mode = 0;   // for SYNC: the exchange rule of the round
  uint32_t iter = 0;   // PUSH, SYNC: the sender's iteration (advances the center's)
};
#pragma pack(pop)
static_assert(sizeof(Header) == 40, "header layout");

// Checks magic and version and that kind is known; returns "" when valid,
// else what is wrong.
std::string ValidateHeader(const void* data, size_t size, Header* header);

// The job's keys (Z85 text, 40 characters each).
struct JobKey {
  std::string server_public, server_secret;
  std::string client_public, client_secret;
};
// Makes fresh CURVE keypairs. Throws if libzmq has no CURVE support.
JobKey GenerateJobKey();
// File format: four lines "server_public ...", "server_secret ...",
// "client_public ...", "client_secret ...". Written with mode 0600.
void WriteJobKey(const JobKey& key, const std::string& path);
// The file's text (what DEEPSPARK_JOB_KEY holds).
std::string JobKeyText(const JobKey& key);
JobKey ReadJobKey(const std::string& path);
// The key from --key-file, else the file named by DEEPSPARK_JOB_KEY_FILE,
// else the key text in DEEPSPARK_JOB_KEY (the file's four lines).
JobKey LoadJobKey(const std::string& key_file);
JobKey ParseJobKey(const std::string& text, const std::string& source);

// A process-wide ZeroMQ context.
void* ZmqContext();

// Thin RAII socket with the few operations the server and client need.
class Socket {
 public:
  Socket(int type);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  void* get() const { return socket_; }
  // Server side of CURVE; ZAP (see StartZapHandler) checks clients.
  void SetCurveServer(const JobKey& key);
  void SetCurveClient(const JobKey& key);
  void SetOption(int option, int value);
  void Bind(const std::string& endpoint);
  void Connect(const std::string& endpoint);
  // The endpoint actually bound (resolves tcp port 0 / "*").
  std::string LastEndpoint() const;
  // Sends frames; the last is sent without SNDMORE. A frame given by
  // (pointer, size, zero_copy) is sent without copying when zero_copy: the
  // memory must stay valid and unchanged until the peer has answered.
  struct Frame {
    const void* data;
    size_t size;
    bool zero_copy;
  };
  void Send(const std::vector<Frame>& frames);
  // Receives all frames of one message; false on timeout (timeout_ms >= 0).
  bool Receive(std::vector<std::string>* frames, int timeout_ms);

 private:
  void* socket_;
};

// Starts the ZAP handler thread (once per process) that admits CURVE clients
// whose public key is in the allowed set; returns immediately.
void AllowCurveClient(const std::string& client_public_z85);

}  // namespace distributed
}  // namespace deepspark
