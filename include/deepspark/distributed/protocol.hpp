// The wire protocol between workers and the parameter server.
//
// Every message is [header][payload]: a fixed 48-byte Header, then either a
// serialized control protobuf (deepspark.proto) or a raw tensor of `count`
// floats. Receivers parse the header (magic, version, kind, sizes, rank,
// shard) before a message touches any state; a bad message is answered with
// ERROR (its seq an ErrorCode) and otherwise ignored.
//
// Endpoints: one "control" address (join, heartbeats, done) and one address
// per center shard, each owned by one server thread, in the server's process
// or in a shard server's (shard_server.hpp: the center split over several
// processes by key ranges, as ps-lite's servers); how they are reached is
// the Transport's business (transport.hpp: ZeroMQ with CURVE, or the
// in-process test network).
//
// Requests carry ids. A worker's session (handed out in WELCOME, larger at
// every join) and its request_id (counting up within the session) name
// each logical request; a resend after a timeout repeats both, and the
// shard answers it from its record instead of applying it again. What a
// shard remembers, and when it answers, is narrated in exchange_rule.hpp.
//
// Errors: everything this subsystem cannot recover from locally is a
// deepspark::Error (thrown; ProtocolError for a malformed message), with
// the peer, the endpoint and what was wrong; a lost message is no error
// but the normal case of a network, answered by the resend rules; CHECK is
// for this code's own invariants only. Every thread runs its body under a
// guard that reports an escaping error and ends the job (or the worker)
// with it: nothing reaches std::terminate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepspark/common.hpp"

namespace deepspark {
namespace distributed {

constexpr uint32_t kMagic = 0x4B505344;  // "DSPK" little-endian
constexpr uint16_t kProtocolVersion = 2;

enum class Kind : uint16_t {
  HELLO = 1,          // worker -> control: pb Hello
  WELCOME = 2,        // control -> worker: pb JobSpec
  HEARTBEAT = 3,      // worker -> control: pb WorkerMetrics
  CONTROL_REPLY = 4,  // control -> worker: pb ControlReply
  PULL = 5,           // worker -> shard: no payload; seq = JobSpec.ticket
  CENTER = 6,         // shard -> worker: center shard; seq = center version
  PUSH = 7,           // worker -> shard: the rule's tensor; seq = version pulled
  PUSH_ACK = 8,       // shard -> worker: seq = version it was applied at
  SYNC = 9,           // worker -> shard: round contribution (params or grads)
  SYNC_RESULT = 10,   // shard -> worker: the round's result
  ERROR = 11,         // either way: seq = ErrorCode, payload = what was wrong
  // A shard server (shard_server.hpp) and the control endpoint:
  SHARD_JOIN = 12,    // shard server -> control: pb ShardServerHello
  SHARD_ASSIGN = 13,  // control -> shard server: pb ShardAssignment, then slices
  SHARD_POLL = 14,    // shard server -> control: pb ShardServerPoll
  SHARD_STATE = 15,   // control -> shard server: pb ShardServerState
};
const char* KindName(Kind kind);

// What an ERROR says, so a client can act on it without parsing text.
enum class ErrorCode : uint64_t {
  BAD_MESSAGE = 1,  // malformed: the sender has a bug or another version
  NOT_MEMBER = 2,   // the rank is not (or no longer) in the job: rejoin
  REFUSED = 3,      // a valid request the server will not serve (job full, ...)
  BUSY = 4,         // the rank asked for is held by a live worker: ask again later
};

#pragma pack(push, 1)
struct Header {
  uint32_t magic = kMagic;
  uint16_t version = kProtocolVersion;
  uint16_t kind = 0;
  int32_t rank = -1;
  int32_t shard = -1;
  uint32_t session = 0;     // the sender's join (JobSpec.session); 0: none
  uint32_t iter = 0;        // PUSH, SYNC: the sender's iteration (advances the center's)
  uint64_t request_id = 0;  // per session, counting up; resends repeat it
  uint64_t seq = 0;         // center version, or the ErrorCode of an ERROR
  uint64_t count = 0;       // floats in a tensor payload, bytes in a pb payload
};
#pragma pack(pop)
static_assert(sizeof(Header) == 48, "header layout");

// A malformed message (from a buggy or foreign peer).
class ProtocolError : public Error {
 public:
  using Error::Error;
};

// Parses frame 0 of a message: size, magic, version and a known kind.
// Throws ProtocolError saying what is wrong.
Header ParseHeader(const std::string& frame);

// The job's keys (Z85 text, 40 characters each).
struct JobKey {
  std::string server_public, server_secret;
  std::string client_public, client_secret;
};
// Makes fresh CURVE keypairs. Throws if libzmq has no CURVE support.
// A random non-zero number, different in every process and call: names a
// join (HELLO, SHARD_JOIN) so a resend is answered alike. Any thread.
uint64_t RandomNonce();

// A string a peer sent, made safe for a log line: control characters and
// bytes outside printable ASCII become \n, \t or \xNN escapes (a newline in
// a worker's host name once forged server log lines), and more than
// max_chars is cut with "...".
std::string EscapeForLog(const std::string& text, size_t max_chars = 200);

JobKey GenerateJobKey();
// File format: four lines "server_public ...", "server_secret ...",
// "client_public ...", "client_secret ...". Written with mode 0600 from the
// start, through a fresh temporary (O_EXCL) renamed over `path`, so a
// symlink planted at `path` is replaced, not written through.
void WriteJobKey(const JobKey& key, const std::string& path);
// The file's text (what DEEPSPARK_JOB_KEY holds).
std::string JobKeyText(const JobKey& key);
// Refuses a file readable by group or others.
JobKey ReadJobKey(const std::string& path);
// The key from --key-file, else the file named by DEEPSPARK_JOB_KEY_FILE,
// else the key text in DEEPSPARK_JOB_KEY (the file's four lines).
JobKey LoadJobKey(const std::string& key_file);
JobKey ParseJobKey(const std::string& text, const std::string& source);

}  // namespace distributed
}  // namespace deepspark
