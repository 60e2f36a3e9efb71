// How messages move between the parameter server and its workers, behind a
// small interface (as ps-lite's Van), so the exchange logic is the same over
// ZeroMQ and over an in-process network that loses messages on purpose.
//
// The model is ZeroMQ's ROUTER/DEALER pair: a server Port listens at an
// address and answers each request to the peer that sent it; a client
// Connection talks to one address. Messages are lists of frames (the
// protocol puts a Header in frame 0 and a payload in frame 1).
//
// Delivery is best effort, in both implementations: a message may be lost
// (a peer restarted, a link was cut, the send timed out, or the in-process
// network dropped it on purpose), and the in-process network may also
// delay, duplicate and reorder. Send therefore returns nothing to act on:
// the protocol above (request ids, resends, idempotent servers; see
// exchange_rule.hpp) is what turns best effort into exactly-once effects.
// Errors of set-up (an address that cannot be bound, a malformed address)
// throw deepspark::Error.
//
// Thread safety: a Transport may be shared by all threads of a process; a
// Port or Connection belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace deepspark {
namespace distributed {

struct JobKey;

// One frame to send. With zero_copy a transport may keep pointing at `data`
// until the peer answered (ZeroMQ sends large tensors without copies); the
// caller keeps it unchanged that long. Others copy at once.
struct Frame {
  const void* data;
  size_t size;
  bool zero_copy = false;
};

// The server side of one address.
class Port {
 public:
  virtual ~Port() = default;
  // The address as bound (a tcp port 0 resolved), to hand to clients.
  virtual std::string address() const = 0;
  // Waits up to timeout_ms (< 0: forever) for the next request; false when
  // none came. `peer` names the sender for Send.
  virtual bool Receive(std::string* peer, std::vector<std::string>* frames, int timeout_ms) = 0;
  // Best effort; a peer that is gone loses the message.
  virtual void Send(const std::string& peer, const std::vector<Frame>& frames) = 0;
};

// The client side: requests to one address, answers back.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Send(const std::vector<Frame>& frames) = 0;
  // Waits up to timeout_ms (0: only what is there, < 0: forever).
  virtual bool Receive(std::vector<std::string>* frames, int timeout_ms) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Binds `address` (the transport's scheme; see the implementations).
  // A message with a frame over max_frame_bytes (> 0; 0: no limit) never
  // reaches Receive: ZeroMQ drops the connection that sends it as soon as
  // the frame's size is read (before the frame is, so a peer cannot make
  // the process buffer it, with or without the key), the in-process network
  // drops the message.
  virtual std::unique_ptr<Port> Listen(const std::string& address, int64_t max_frame_bytes = 0) = 0;
  // Connects lazily: the first messages may be sent before the peer exists.
  virtual std::unique_ptr<Connection> Connect(const std::string& address) = 0;
  // Waits up to timeout_ms until one of `connections` (all made by this
  // transport) has a message; returns its index, or -1 on timeout.
  virtual int WaitAny(const std::vector<Connection*>& connections, int timeout_ms) = 0;
  // The address of shard `shard` next to the control address `listen`
  // (tcp: the same host, any port; others: a suffix).
  virtual std::string ShardAddress(const std::string& listen, int shard) const = 0;
  // The address a client uses for a shard bound at `shard_address`, given
  // the control address it reached (tcp wildcards become that host).
  // How long a client waits for the answer to a small request before it
  // sends it again (clients wait longer for slow calls); < 0: never. TCP
  // loses nothing while a connection lives (a peer that restarts is found by
  // the heartbeat and the give-up time), so ZeroMQ never resends: resending
  // a 240 MB tensor that is merely slow would add to what makes it slow. The
  // in-process network loses messages on purpose.
  virtual int resend_ms() const { return 300; }
  virtual std::string Reachable(const std::string& shard_address,
                                const std::string& control_address) const {
    (void)control_address;
    return shard_address;
  }
};

// ZeroMQ (tcp://HOST:PORT, ipc://PATH, inproc://NAME) secured with CURVE:
// listening ports present the job's server key and admit only the job's
// client key (a ZAP handler); connections present the client key. With a
// source address, tcp connections leave from that local IP (ZeroMQ's
// "tcp://SOURCE:0;HOST:PORT"), so traffic can be told apart by node.
std::shared_ptr<Transport> MakeZmqTransport(const JobKey& key,
                                            const std::string& source_address = "");

// ---------------------------------------------------------------------------
// The in-process network: addresses mem://NAME in one process, with faults
// on purpose, for tests. Each process-like participant (the server, each
// worker) gets its own Transport from Node(), with its own FaultPlan; the
// plan applies to every message the node sends or is sent.

struct FaultPlan {
  double drop = 0;       // probability a message is lost
  double duplicate = 0;  // probability it arrives twice
  double delay = 0;      // probability it is held back ...
  int delay_ms = 0;      // ... for a uniform 1..delay_ms milliseconds
  double reorder = 0;    // probability it is held until the next message
                         // on its link has passed it (or 50 ms)
  // The node is cut off (everything to and from it lost) from cut_after_ms
  // after the network was made, for cut_for_ms (< 0: for good).
  int cut_after_ms = -1;
  int cut_for_ms = -1;
  bool any() const {
    return drop > 0 || duplicate > 0 || delay > 0 || reorder > 0 || cut_after_ms >= 0;
  }
  std::string ToString() const;
};

// What the network did, for tests to check that faults really happened.
struct FaultCounts {
  int64_t sent = 0, dropped = 0, duplicated = 0, delayed = 0, reordered = 0, cut = 0;
};

class InProcessNetwork {
 public:
  // All random choices come from `seed`, so a failing run can be named by it
  // (the thread schedule still varies between runs).
  explicit InProcessNetwork(uint64_t seed);
  ~InProcessNetwork();
  InProcessNetwork(const InProcessNetwork&) = delete;
  InProcessNetwork& operator=(const InProcessNetwork&) = delete;

  // A participant named `name` (for messages) with its faults.
  std::shared_ptr<Transport> Node(const std::string& name, const FaultPlan& faults = {});
  FaultCounts counts() const;
  uint64_t seed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace distributed
}  // namespace deepspark
