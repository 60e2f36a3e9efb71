// The in-process network of transport.hpp: routing, WaitAny, binding, and
// each kind of fault it injects. Nothing here asserts an upper bound on time:
// what should arrive in milliseconds is given seconds, so a loaded machine
// (or ThreadSanitizer) cannot make it flaky.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"
#include "deepspark/proto/deepspark.pb.h"

namespace deepspark {
namespace distributed {
namespace {

using Clock = std::chrono::steady_clock;

// Long enough for anything due in milliseconds, even on a loaded machine.
constexpr int kPatienceMs = 2000;

std::vector<Frame> Frames(const std::vector<std::string>& parts) {
  std::vector<Frame> frames;
  for (const std::string& p : parts) frames.push_back({p.data(), p.size()});
  return frames;
}

void Send(Connection* c, const std::string& text) {
  const std::string header = "h";
  c->Send(Frames({header, text}));
}

void Send(Port* port, const std::string& peer, const std::string& text) {
  const std::string header = "h";
  port->Send(peer, Frames({header, text}));
}

// The payload of the next request, or "" when none comes in timeout_ms.
std::string Receive(Port* port, int timeout_ms, std::string* peer = nullptr) {
  std::string from;
  std::vector<std::string> frames;
  if (!port->Receive(&from, &frames, timeout_ms)) return "";
  EXPECT_EQ(frames.size(), 2u);
  if (peer != nullptr) *peer = from;
  return frames.size() == 2 ? frames[1] : "?";
}

std::string Receive(Connection* c, int timeout_ms) {
  std::vector<std::string> frames;
  if (!c->Receive(&frames, timeout_ms)) return "";
  EXPECT_EQ(frames.size(), 2u);
  return frames.size() == 2 ? frames[1] : "?";
}

TEST(InProcessTransportTest, AnswersGoToTheConnectionThatAsked) {
  InProcessNetwork net(1);
  auto server = net.Node("server");
  auto port = server->Listen("mem://ps");
  EXPECT_EQ(port->address(), "mem://ps");
  EXPECT_EQ(server->ShardAddress("mem://ps", 3), "mem://ps.shard3");
  EXPECT_EQ(server->Reachable("mem://ps.shard3", "mem://ps"), "mem://ps.shard3");
  auto c1 = net.Node("w1")->Connect("mem://ps");
  auto c2 = net.Node("w2")->Connect("mem://ps");
  Send(c1.get(), "one");
  Send(c2.get(), "two");
  std::string peer_a, peer_b;
  const std::string a = Receive(port.get(), kPatienceMs, &peer_a);
  const std::string b = Receive(port.get(), kPatienceMs, &peer_b);
  EXPECT_NE(peer_a, peer_b);
  Send(port.get(), peer_a, "re:" + a);
  Send(port.get(), peer_b, "re:" + b);
  EXPECT_EQ(Receive(c1.get(), kPatienceMs), "re:one");
  EXPECT_EQ(Receive(c2.get(), kPatienceMs), "re:two");
  EXPECT_EQ(Receive(c1.get(), 0), "");
  EXPECT_EQ(Receive(c2.get(), 0), "");
  EXPECT_EQ(net.counts().sent, 4);
}

// Frames over a port's limit never reach it: a peer cannot make a server
// buffer (or handle) a message larger than the protocol has any use for.
// The in-process network drops the message; ZeroMQ the connection that
// sent it (before the frame is read, key or not), while others go on.
TEST(InProcessTransportTest, FramesOverThePortsLimitAreDropped) {
  InProcessNetwork net(3);
  auto port = net.Node("server")->Listen("mem://ps", 100);
  auto c = net.Node("w")->Connect("mem://ps");
  Send(c.get(), std::string(101, 'x'));
  EXPECT_EQ(Receive(port.get(), 200), "");
  Send(c.get(), std::string(100, 'y'));
  EXPECT_EQ(Receive(port.get(), kPatienceMs), std::string(100, 'y'));
}

TEST(ZmqTransportTest, FramesOverThePortsLimitAreRefused) {
  auto transport = MakeZmqTransport(GenerateJobKey());
  auto port = transport->Listen("tcp://127.0.0.1:0", 4096);
  auto big = transport->Connect(port->address());
  Send(big.get(), std::string(1 << 20, 'x'));
  EXPECT_EQ(Receive(port.get(), 500), "");
  auto small = transport->Connect(port->address());
  Send(small.get(), std::string(4000, 'y'));
  EXPECT_EQ(Receive(port.get(), kPatienceMs), std::string(4000, 'y'));
}

TEST(InProcessTransportTest, WaitAnyPicksTheConnectionWithAMessage) {
  InProcessNetwork net(2);
  auto port = net.Node("server")->Listen("mem://ps");
  auto worker = net.Node("worker");
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(worker->Connect("mem://ps"));
  const std::vector<Connection*> all = {conns[0].get(), conns[1].get(), conns[2].get()};
  EXPECT_EQ(worker->WaitAny(all, 0), -1);
  const Clock::time_point before = Clock::now();
  EXPECT_EQ(worker->WaitAny(all, 30), -1);
  EXPECT_GE(Clock::now() - before, std::chrono::milliseconds(30));
  EXPECT_EQ(worker->WaitAny({}, 1), -1);

  // Learn the peer name of connection 1, then answer it from another thread
  // while this one waits.
  Send(conns[1].get(), "hello");
  std::string peer;
  ASSERT_EQ(Receive(port.get(), kPatienceMs, &peer), "hello");
  std::thread answer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Send(port.get(), peer, "answer");
  });
  EXPECT_EQ(worker->WaitAny(all, -1), 1);
  answer.join();
  EXPECT_EQ(worker->WaitAny(all, kPatienceMs), 1);  // still there until received
  EXPECT_EQ(Receive(conns[1].get(), 0), "answer");
  EXPECT_EQ(worker->WaitAny(all, 0), -1);
}

TEST(InProcessTransportTest, BindingRules) {
  InProcessNetwork net(3);
  auto node = net.Node("server");
  auto other = net.Node("other");
  {
    auto port = node->Listen("mem://ps");
    EXPECT_THROW(node->Listen("mem://ps"), Error);
    EXPECT_THROW(other->Listen("mem://ps"), Error);
  }
  // Destroying the port frees the address.
  EXPECT_NE(node->Listen("mem://ps"), nullptr);
  EXPECT_THROW(node->Listen("tcp://127.0.0.1:5555"), Error);
  EXPECT_THROW(node->Listen("mem://"), Error);
  EXPECT_THROW(node->Connect("ps"), Error);
  try {
    node->Listen("inproc://x");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mem://NAME"), std::string::npos) << e.what();
  }
}

TEST(InProcessTransportTest, MessagesToNobodyAreLost) {
  InProcessNetwork net(4);
  auto worker = net.Node("worker");
  auto c = worker->Connect("mem://later");  // connecting never fails
  Send(c.get(), "early");
  auto port = net.Node("server")->Listen("mem://later");
  EXPECT_EQ(Receive(port.get(), 0), "");
  Send(c.get(), "now");
  std::string peer;
  EXPECT_EQ(Receive(port.get(), kPatienceMs, &peer), "now");
  c.reset();
  Send(port.get(), peer, "to a connection that is gone");
  EXPECT_EQ(net.counts().sent, 3);
}

TEST(InProcessTransportTest, DropOneLosesEverything) {
  FaultPlan lossy;
  lossy.drop = 1;
  EXPECT_EQ(lossy.ToString(), "drop=1");
  EXPECT_EQ(FaultPlan().ToString(), "none");
  InProcessNetwork net(5);
  // The sender's plan drops ...
  auto port = net.Node("server")->Listen("mem://ps");
  auto c = net.Node("worker", lossy)->Connect("mem://ps");
  for (int i = 0; i < 10; ++i) Send(c.get(), std::to_string(i));
  // ... and so does the receiver's.
  auto lossy_port = net.Node("lossy server", lossy)->Listen("mem://lossy");
  auto c2 = net.Node("worker2")->Connect("mem://lossy");
  for (int i = 0; i < 10; ++i) Send(c2.get(), std::to_string(i));
  EXPECT_EQ(Receive(port.get(), 100), "");
  EXPECT_EQ(Receive(lossy_port.get(), 100), "");
  const FaultCounts counts = net.counts();
  EXPECT_EQ(counts.sent, 20);
  EXPECT_EQ(counts.dropped, 20);
}

TEST(InProcessTransportTest, DuplicateDeliversEachMessageTwice) {
  FaultPlan twice;
  twice.duplicate = 1;
  InProcessNetwork net(6);
  auto port = net.Node("server")->Listen("mem://ps");
  auto c = net.Node("worker", twice)->Connect("mem://ps");
  for (int i = 0; i < 5; ++i) Send(c.get(), std::to_string(i));
  std::vector<std::string> got;
  for (int i = 0; i < 10; ++i) got.push_back(Receive(port.get(), kPatienceMs));
  // Duplicates are not delayed: nothing more is on its way.
  EXPECT_EQ(Receive(port.get(), 0), "");
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"0", "0", "1", "1", "2", "2", "3", "3", "4", "4"}));
  EXPECT_EQ(net.counts().duplicated, 5);
}

TEST(InProcessTransportTest, DelayDeliversLaterButDelivers) {
  FaultPlan slow;
  slow.delay = 1;
  slow.delay_ms = 20;
  InProcessNetwork net(7);
  auto port = net.Node("server", slow)->Listen("mem://ps");
  auto c = net.Node("worker")->Connect("mem://ps");
  const Clock::time_point before = Clock::now();
  for (int i = 0; i < 8; ++i) Send(c.get(), std::to_string(i));
  std::vector<std::string> got;
  for (int i = 0; i < 8; ++i) got.push_back(Receive(port.get(), kPatienceMs));
  EXPECT_GE(Clock::now() - before, std::chrono::milliseconds(1));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"}));
  EXPECT_EQ(net.counts().delayed, 8);
  EXPECT_EQ(net.counts().dropped, 0);
}

TEST(InProcessTransportTest, ReorderSwapsMessagesOnALink) {
  FaultPlan shuffled;
  shuffled.reorder = 1;
  InProcessNetwork net(8);
  auto port = net.Node("server")->Listen("mem://ps");
  auto c = net.Node("worker", shuffled)->Connect("mem://ps");
  const int n = 20;
  std::vector<std::string> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back(std::to_string(i));
    Send(c.get(), sent.back());
  }
  std::vector<std::string> got;
  // The last one may wait for its 50 ms hold to run out.
  for (int i = 0; i < n; ++i) got.push_back(Receive(port.get(), kPatienceMs));
  EXPECT_NE(got, sent);
  std::vector<std::string> sorted_got = got, sorted_sent = sent;
  std::sort(sorted_got.begin(), sorted_got.end());
  std::sort(sorted_sent.begin(), sorted_sent.end());
  EXPECT_EQ(sorted_got, sorted_sent);
  EXPECT_GE(net.counts().reordered, 1);
  EXPECT_EQ(Receive(port.get(), 0), "");
}

TEST(InProcessTransportTest, CutLosesMessagesInsideTheWindowAndHeals) {
  // The network's clock starts between `created` and `made`, so a message
  // provably falls in (or before) the window only when our own clock says
  // so; on a machine too slow for that, the check is skipped, not failed.
  FaultPlan cut;
  cut.cut_after_ms = 200;
  cut.cut_for_ms = 400;
  const Clock::time_point created = Clock::now();
  InProcessNetwork net(9);
  const Clock::time_point made = Clock::now();
  auto since = [](Clock::time_point t) { return Clock::now() - t; };
  auto port = net.Node("server", cut)->Listen("mem://ps");
  auto c = net.Node("worker")->Connect("mem://ps");

  Send(c.get(), "before");
  if (since(created) < std::chrono::milliseconds(200)) {  // sent before the cut
    EXPECT_EQ(Receive(port.get(), kPatienceMs), "before");
  }
  std::this_thread::sleep_until(made + std::chrono::milliseconds(250));
  Send(c.get(), "inside");
  const bool inside = since(created) < std::chrono::milliseconds(600);
  if (inside) {
    EXPECT_GE(net.counts().cut, 1);
  }

  // Once the window has passed, messages get through again. (On a slow
  // machine "before" or "inside" may come here too.)
  bool healed = false;
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(10);
  while (!healed && Clock::now() < give_up) {
    Send(c.get(), "after");
    for (std::string got; !healed && !(got = Receive(port.get(), 20)).empty();) {
      healed = got == "after";
    }
  }
  EXPECT_TRUE(healed);
  EXPECT_GE(since(created), std::chrono::milliseconds(600));
  if (inside) {
    EXPECT_GE(net.counts().cut, 1);
  }
}

// Which of 64 messages arrive, for a fresh network with `seed`.
std::vector<bool> DropPattern(uint64_t seed, FaultCounts* counts) {
  FaultPlan coin;
  coin.drop = 0.5;
  InProcessNetwork net(seed);
  EXPECT_EQ(net.seed(), seed);
  auto port = net.Node("server")->Listen("mem://ps");
  auto c = net.Node("worker", coin)->Connect("mem://ps");
  for (int i = 0; i < 64; ++i) Send(c.get(), std::to_string(i));
  // Without delays every message that is not lost is already there.
  std::vector<bool> arrived(64, false);
  for (std::string got; !(got = Receive(port.get(), 0)).empty();) arrived[std::stoi(got)] = true;
  *counts = net.counts();
  return arrived;
}

TEST(InProcessTransportTest, TheSameSeedDropsTheSameMessages) {
  FaultCounts first, again, other;
  const std::vector<bool> pattern = DropPattern(42, &first);
  EXPECT_EQ(DropPattern(42, &again), pattern);
  EXPECT_NE(DropPattern(43, &other), pattern);
  EXPECT_EQ(first.dropped, again.dropped);
  EXPECT_GT(first.dropped, 0);
  EXPECT_LT(first.dropped, 64);
  EXPECT_EQ(first.dropped, std::count(pattern.begin(), pattern.end(), false));
}

TEST(InProcessTransportTest, PortsAndConnectionsOutliveTheNetwork) {
  std::unique_ptr<Port> port;
  std::unique_ptr<Connection> c;
  {
    InProcessNetwork net(10);
    port = net.Node("server")->Listen("mem://ps");
    c = net.Node("worker")->Connect("mem://ps");
  }
  Send(c.get(), "still here");
  std::string peer;
  EXPECT_EQ(Receive(port.get(), kPatienceMs, &peer), "still here");
  Send(port.get(), peer, "me too");
  EXPECT_EQ(Receive(c.get(), kPatienceMs), "me too");
}

// Many threads at once, with every fault but loss, for ThreadSanitizer: each
// worker sends requests one by one and waits for the matching answer.
TEST(InProcessTransportTest, ManyThreadsWithFaults) {
  FaultPlan faults;
  faults.duplicate = 0.2;
  faults.delay = 0.3;
  faults.delay_ms = 5;
  faults.reorder = 0.2;
  InProcessNetwork net(11);
  auto server = net.Node("server", faults);
  auto port = server->Listen("mem://ps");
  std::atomic<bool> done{false};
  std::thread serve([&] {
    while (!done) {
      std::string peer;
      const std::string request = Receive(port.get(), 20, &peer);
      if (!request.empty()) Send(port.get(), peer, request);
    }
  });
  const int kWorkers = 4, kRequests = 30;
  std::vector<int> answered(kWorkers, 0);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      auto c = net.Node("worker" + std::to_string(w), faults)->Connect("mem://ps");
      for (int i = 0; i < kRequests; ++i) {
        const std::string want = std::to_string(w) + ":" + std::to_string(i);
        Send(c.get(), want);
        // Earlier answers may come again (duplicates); skip them.
        for (std::string got; (got = Receive(c.get(), 5 * kPatienceMs)) != want;) {
          if (got.empty()) return;
        }
        ++answered[w];
      }
    });
  }
  for (std::thread& t : workers) t.join();
  done = true;
  serve.join();
  for (int w = 0; w < kWorkers; ++w) EXPECT_EQ(answered[w], kRequests) << "worker " << w;
  const FaultCounts counts = net.counts();
  EXPECT_GE(counts.sent, 2 * kWorkers * kRequests);  // plus answers to duplicates
  EXPECT_GT(counts.duplicated + counts.delayed + counts.reordered, 0);
}

// A worker takes its job description from the server: a malformed one (a
// bad or hostile server) is refused by name before anything is sized,
// indexed or divided by it. A fake server on the in-process network answers
// every HELLO with the spec under test.
TEST(DistJobSpecTest, MalformedJobDescriptionsAreRefused) {
  pb::JobSpec good;
  good.set_rank(0);
  good.set_num_workers(2);
  good.set_rule("async-easgd");
  good.set_tau(10);
  good.set_moving_rate(0.45f);
  good.set_param_count(100);
  good.add_shard_begin(0);
  good.add_shard_begin(50);
  good.add_shard_endpoint("mem://fake-shard-0");
  good.add_shard_endpoint("mem://fake-shard-1");
  std::vector<std::pair<std::string, std::function<void(pb::JobSpec*)>>> cases = {
      {"negative shard start", [](pb::JobSpec* s) { s->set_shard_begin(1, -5); }},
      {"param_count -1", [](pb::JobSpec* s) { s->set_param_count(-1); }},
      {"shard past the end", [](pb::JobSpec* s) { s->set_shard_begin(1, 100); }},
      {"missing shard start", [](pb::JobSpec* s) { s->mutable_shard_begin()->RemoveLast(); }},
      {"tau 0", [](pb::JobSpec* s) { s->set_tau(0); }},
      {"rank out of range", [](pb::JobSpec* s) { s->set_rank(7); }},
      {"NaN learning-rate scale", [](pb::JobSpec* s) { s->set_lr_scale(std::nanf("")); }},
  };
  // Joins through a fake server that answers every HELLO with `spec`;
  // returns the join's error ("" when it joined).
  auto join_with = [](const pb::JobSpec& spec) {
    InProcessNetwork network(7);
    std::unique_ptr<Port> port = network.Node("server")->Listen("mem://fake");
    std::atomic<bool> stop{false};
    std::thread fake([&] {
      std::string peer;
      std::vector<std::string> frames;
      while (!stop) {
        if (!port->Receive(&peer, &frames, 20)) continue;
        Header reply;
        reply.kind = static_cast<uint16_t>(Kind::WELCOME);
        reply.request_id = ParseHeader(frames[0]).request_id;
        const std::string bytes = spec.SerializeAsString();
        reply.count = bytes.size();
        port->Send(peer, {{&reply, sizeof(reply)}, {bytes.data(), bytes.size()}});
      }
    });
    std::string error;
    try {
      ParamClient client("mem://fake", JobKey(), -1, 5, network.Node("worker"));
      client.Join();
    } catch (const Error& e) {
      error = e.what();
    }
    stop = true;
    fake.join();
    return error;
  };
  for (const auto& [name, spoil] : cases) {
    pb::JobSpec spec = good;
    spoil(&spec);
    const std::string error = join_with(spec);
    EXPECT_NE(error.find("malformed job description"), std::string::npos)
        << name << ": " << (error.empty() ? "joined" : error);
  }
  // The good one is taken (so the fake server itself is not what fails).
  EXPECT_EQ(join_with(good), "");
}

// Strings from peers reach log lines escaped: a newline in a worker's host
// name cannot start a forged line.
TEST(DistEscapeTest, PeerStringsAreEscapedForLogs) {
  EXPECT_EQ(EscapeForLog("node-1"), "node-1");
  EXPECT_EQ(EscapeForLog("evil\nI1130 worker 0 joined"), "evil\\nI1130 worker 0 joined");
  EXPECT_EQ(EscapeForLog(std::string("a\0b\x1b[31m\xff", 9)), "a\\x00b\\x1b[31m\\xff");
  EXPECT_EQ(EscapeForLog("back\\slash\t"), "back\\\\slash\\t");
  EXPECT_EQ(EscapeForLog(std::string(500, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark
