// The in-process network of transport.hpp: mem://NAME addresses inside one
// process, losing, delaying, duplicating and reordering messages on purpose
// so that tests see the faults the protocol must survive.
//
// One mutex guards the whole network (it is for tests, not for speed): the
// bound addresses, every inbox, the random engine, the counts and the timer
// queue. Every arrival notifies one condition variable that all receivers
// wait on, so WaitAny over several connections needs no extra machinery.
// Delayed and held-back messages wait in a time-ordered queue that one
// background thread works off.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "deepspark/common.hpp"
#include "deepspark/distributed/transport.hpp"

namespace deepspark {
namespace distributed {

namespace {

using Clock = std::chrono::steady_clock;

const char kScheme[] = "mem://";
// A held-back message goes anyway after this long, so that the last message
// on a link is never held for good.
constexpr auto kReorderHold = std::chrono::milliseconds(50);

void RequireMemAddress(const std::string& address) {
  REQUIRE(address.size() > sizeof(kScheme) - 1 &&
          address.compare(0, sizeof(kScheme) - 1, kScheme) == 0)
      << "in-process network: address '" << address << "' is not of the form mem://NAME";
}

std::vector<std::string> CopyFrames(const std::vector<Frame>& frames) {
  std::vector<std::string> copies;
  copies.reserve(frames.size());
  for (const Frame& f : frames) copies.emplace_back(static_cast<const char*>(f.data), f.size);
  return copies;
}

struct NodeInfo {
  std::string name;
  FaultPlan plan;
};

struct Envelope {
  std::string peer;  // the sending Connection, for messages to a Port
  std::vector<std::string> frames;
};

// Filled by the network, drained by the Port or Connection that owns it.
using Inbox = std::deque<Envelope>;

// A bound Port or a live Connection, as the network finds it to deliver.
struct Mailbox {
  Inbox* inbox;
  const NodeInfo* node;
};

// A sender endpoint and where it sends to: the unit of ordering for reorder.
using Link = std::pair<uint64_t, std::string>;

struct Message {
  bool to_port;      // to a bound address, else to a Connection's peer name
  std::string dest;  // the address or the peer name
  std::string from;  // the sending Connection's peer name (to_port only)
  std::vector<std::string> frames;
  const NodeInfo* sender = nullptr;
  const NodeInfo* receiver = nullptr;  // set when sent
  Link link;
  int copies = 1;
  bool reorder = false;
};

}  // namespace

std::string FaultPlan::ToString() const {
  if (!any()) return "none";
  std::ostringstream out;
  const char* sep = "";
  auto field = [&](const char* name) -> std::ostream& {
    out << sep << name << '=';
    sep = " ";
    return out;
  };
  if (drop > 0) field("drop") << drop;
  if (duplicate > 0) field("duplicate") << duplicate;
  if (delay > 0) field("delay") << delay << " delay_ms=" << delay_ms;
  if (reorder > 0) field("reorder") << reorder;
  if (cut_after_ms >= 0) field("cut_after_ms") << cut_after_ms << " cut_for_ms=" << cut_for_ms;
  return out.str();
}

struct InProcessNetwork::Impl {
  explicit Impl(uint64_t s) : seed(s), rng(s), start(Clock::now()) {}

  const uint64_t seed;
  std::mutex mu;
  std::condition_variable arrived;   // any inbox got a message
  std::condition_variable timer_cv;  // the timer queue changed, or stop
  // Everything below but `start` is guarded by mu.
  std::mt19937_64 rng;
  const Clock::time_point start;  // cut windows count from here
  FaultCounts counts;
  std::deque<NodeInfo> nodes;            // stable addresses; never shrinks
  std::map<std::string, Mailbox> ports;  // by address
  std::map<std::string, Mailbox> conns;  // by peer name
  uint64_t next_endpoint = 1;
  std::map<Link, std::shared_ptr<Message>> held;  // at most one per link
  struct Timer {
    std::shared_ptr<Message> msg;
    bool release;  // a reorder hold ran out, else a delay did
  };
  std::multimap<Clock::time_point, Timer> timers;  // equal times stay in order
  bool stop = false;
  std::thread timer_thread;

  bool Coin(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  bool IsCut(const NodeInfo* node, Clock::time_point now) const {
    const FaultPlan& p = node->plan;
    if (p.cut_after_ms < 0) return false;
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
    return elapsed >= p.cut_after_ms &&
           (p.cut_for_ms < 0 || elapsed < int64_t{p.cut_after_ms} + p.cut_for_ms);
  }

  void AddTimer(Clock::time_point when, std::shared_ptr<Message> msg, bool release) {
    timers.emplace(when, Timer{std::move(msg), release});
    timer_cv.notify_one();
  }

  // Decides the message's fate from both nodes' plans. Called with mu held.
  void Send(std::shared_ptr<Message> msg) {
    ++counts.sent;
    auto& table = msg->to_port ? ports : conns;
    auto receiver = table.find(msg->dest);
    if (receiver == table.end()) return;  // nobody listens (yet), or gone
    msg->receiver = receiver->second.node;
    const Clock::time_point now = Clock::now();
    if (IsCut(msg->sender, now) || IsCut(msg->receiver, now)) {
      ++counts.cut;
      return;
    }
    const FaultPlan* plans[] = {&msg->sender->plan, &msg->receiver->plan};
    // Every coin is tossed whatever the others say, so that one plan's
    // outcome does not shift the random sequence the other one sees.
    bool drop = false, dup = false, delay = false;
    int delay_ms = 1;
    for (const FaultPlan* p : plans) {
      drop |= Coin(p->drop);
      dup |= Coin(p->duplicate);
      if (Coin(p->delay)) {
        delay = true;
        delay_ms = std::max(delay_ms, p->delay_ms);
      }
      msg->reorder |= Coin(p->reorder);
    }
    const int wait_ms = std::uniform_int_distribution<int>(1, delay_ms)(rng);
    if (drop) {
      ++counts.dropped;
      return;
    }
    if (dup) {
      ++counts.duplicated;
      msg->copies = 2;
    }
    if (delay) {
      ++counts.delayed;
      AddTimer(now + std::chrono::milliseconds(wait_ms), std::move(msg), false);
      return;
    }
    Arrive(std::move(msg));
  }

  // The message reached the receiver's side of the link (after any delay).
  void Arrive(std::shared_ptr<Message> msg) {
    if (msg->reorder && held.count(msg->link) == 0) {
      ++counts.reordered;
      held[msg->link] = msg;
      AddTimer(Clock::now() + kReorderHold, std::move(msg), true);
      return;
    }
    Deliver(*msg);
    // The message has passed the one held on its link: let that one go.
    auto it = held.find(msg->link);
    if (it != held.end()) {
      std::shared_ptr<Message> passed = std::move(it->second);
      held.erase(it);
      Deliver(*passed);
    }
  }

  void Release(const std::shared_ptr<Message>& msg) {
    auto it = held.find(msg->link);
    if (it == held.end() || it->second != msg) return;  // already passed
    held.erase(it);
    Deliver(*msg);
  }

  void Deliver(const Message& msg) {
    // A link cut while the message was in flight loses it too.
    const Clock::time_point now = Clock::now();
    if (IsCut(msg.sender, now) || IsCut(msg.receiver, now)) {
      ++counts.cut;
      return;
    }
    auto& table = msg.to_port ? ports : conns;
    auto it = table.find(msg.dest);
    if (it == table.end()) return;  // the receiver is gone: lost
    for (int i = 0; i < msg.copies; ++i) it->second.inbox->push_back({msg.from, msg.frames});
    arrived.notify_all();
  }

  void RunTimers() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      if (timers.empty()) {
        timer_cv.wait(lock);
        continue;
      }
      auto first = timers.begin();
      if (Clock::now() < first->first) {
        timer_cv.wait_until(lock, first->first);
        continue;
      }
      Timer timer = std::move(first->second);
      timers.erase(first);
      if (timer.release) {
        Release(timer.msg);
      } else {
        Arrive(std::move(timer.msg));
      }
    }
  }

  // Waits under `lock` until `ready` or the timeout (< 0: forever).
  template <typename Ready>
  bool Wait(std::unique_lock<std::mutex>* lock, int timeout_ms, Ready ready) {
    if (timeout_ms < 0) {
      arrived.wait(*lock, ready);
      return true;
    }
    return arrived.wait_until(*lock, Clock::now() + std::chrono::milliseconds(timeout_ms), ready);
  }
};

namespace {

using Impl = InProcessNetwork::Impl;

// What Ports and Connections share: the network they keep alive, their node,
// their inbox, and how they hand a message to the network.
class Endpoint {
 protected:
  Endpoint(std::shared_ptr<Impl> impl, const NodeInfo* node)
      : impl_(std::move(impl)), node_(node) {}

  void SendTo(bool to_port, const std::string& dest, const std::string& from,
              const std::vector<Frame>& frames) {
    auto msg = std::make_shared<Message>();
    msg->to_port = to_port;
    msg->dest = dest;
    msg->from = from;
    msg->frames = CopyFrames(frames);  // outside the lock: it may be large
    msg->sender = node_;
    msg->link = {id_, dest};
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->Send(std::move(msg));
  }

  // Waits for a message in the inbox and takes it.
  bool Take(int timeout_ms, std::string* peer, std::vector<std::string>* frames) {
    std::unique_lock<std::mutex> lock(impl_->mu);
    if (!impl_->Wait(&lock, timeout_ms, [this] { return !inbox_.empty(); })) return false;
    if (peer != nullptr) *peer = std::move(inbox_.front().peer);
    *frames = std::move(inbox_.front().frames);
    inbox_.pop_front();
    return true;
  }

  const std::shared_ptr<Impl> impl_;
  const NodeInfo* const node_;
  uint64_t id_ = 0;  // set under impl_->mu at registration
  Inbox inbox_;      // guarded by impl_->mu
};

class MemPort : public Port, Endpoint {
 public:
  MemPort(std::shared_ptr<Impl> impl, const NodeInfo* node, std::string address,
          int64_t max_frame_bytes)
      : Endpoint(std::move(impl), node),
        address_(std::move(address)),
        max_frame_bytes_(max_frame_bytes) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    REQUIRE(impl_->ports.count(address_) == 0)
        << "in-process network: " << address_ << " is already bound";
    impl_->ports[address_] = {&inbox_, node_};
    id_ = impl_->next_endpoint++;
  }
  ~MemPort() override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->ports.erase(address_);
  }

  std::string address() const override { return address_; }

  // A message with a frame over the limit is dropped, as ZeroMQ drops its
  // connection: this call then reports nothing received.
  bool Receive(std::string* peer, std::vector<std::string>* frames, int timeout_ms) override {
    if (!Take(timeout_ms, peer, frames)) return false;
    for (const std::string& frame : *frames) {
      if (max_frame_bytes_ > 0 && static_cast<int64_t>(frame.size()) > max_frame_bytes_) {
        frames->clear();
        return false;
      }
    }
    return true;
  }

  void Send(const std::string& peer, const std::vector<Frame>& frames) override {
    SendTo(false, peer, "", frames);
  }

 private:
  const std::string address_;
  const int64_t max_frame_bytes_;
};

class MemConnection : public Connection, Endpoint {
 public:
  MemConnection(std::shared_ptr<Impl> impl, const NodeInfo* node, std::string address)
      : Endpoint(std::move(impl), node), address_(std::move(address)) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    id_ = impl_->next_endpoint++;
    peer_ = node_->name + "#" + std::to_string(id_);
    impl_->conns[peer_] = {&inbox_, node_};
  }
  ~MemConnection() override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->conns.erase(peer_);
  }

  void Send(const std::vector<Frame>& frames) override { SendTo(true, address_, peer_, frames); }

  bool Receive(std::vector<std::string>* frames, int timeout_ms) override {
    return Take(timeout_ms, nullptr, frames);
  }

  // For WaitAny; called with impl_->mu held.
  bool HasMessage() const { return !inbox_.empty(); }
  const Impl* impl() const { return impl_.get(); }

 private:
  const std::string address_;
  std::string peer_;  // unique in the network; set once at construction
};

class MemTransport : public Transport {
 public:
  MemTransport(std::shared_ptr<Impl> impl, const NodeInfo* node)
      : impl_(std::move(impl)), node_(node) {}

  std::unique_ptr<Port> Listen(const std::string& address, int64_t max_frame_bytes) override {
    RequireMemAddress(address);
    return std::make_unique<MemPort>(impl_, node_, address, max_frame_bytes);
  }

  std::unique_ptr<Connection> Connect(const std::string& address) override {
    RequireMemAddress(address);
    return std::make_unique<MemConnection>(impl_, node_, address);
  }

  int WaitAny(const std::vector<Connection*>& connections, int timeout_ms) override {
    std::vector<MemConnection*> mine;
    for (Connection* c : connections) {
      auto* m = dynamic_cast<MemConnection*>(c);
      REQUIRE(m != nullptr && m->impl() == impl_.get())
          << "in-process network: WaitAny on a connection of another network";
      mine.push_back(m);
    }
    int found = -1;
    auto ready = [&] {
      for (size_t i = 0; i < mine.size(); ++i) {
        if (mine[i]->HasMessage()) {
          found = static_cast<int>(i);
          return true;
        }
      }
      return false;
    };
    std::unique_lock<std::mutex> lock(impl_->mu);
    return impl_->Wait(&lock, timeout_ms, ready) ? found : -1;
  }

  std::string ShardAddress(const std::string& listen, int shard) const override {
    return listen + ".shard" + std::to_string(shard);
  }

 private:
  const std::shared_ptr<Impl> impl_;
  const NodeInfo* const node_;
};

}  // namespace

InProcessNetwork::InProcessNetwork(uint64_t seed) : impl_(std::make_shared<Impl>(seed)) {
  // The thread gets a raw pointer: the destructor joins it before impl_ can go.
  Impl* impl = impl_.get();
  impl_->timer_thread = std::thread([impl] { impl->RunTimers(); });
}

// Messages still delayed then are lost, as in a network that went down; the
// Ports and Connections left keep working without faults that need the timer.
InProcessNetwork::~InProcessNetwork() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
    impl_->timer_cv.notify_one();
  }
  impl_->timer_thread.join();
}

std::shared_ptr<Transport> InProcessNetwork::Node(const std::string& name,
                                                  const FaultPlan& faults) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->nodes.push_back({name, faults});
  return std::make_shared<MemTransport>(impl_, &impl_->nodes.back());
}

FaultCounts InProcessNetwork::counts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->counts;
}

uint64_t InProcessNetwork::seed() const { return impl_->seed; }

}  // namespace distributed
}  // namespace deepspark
