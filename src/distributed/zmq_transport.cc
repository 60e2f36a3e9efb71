// The ZeroMQ transport: a Port is a ROUTER socket (the peer is ZeroMQ's
// routing identity), a Connection a DEALER. Every socket uses CURVE; a ZAP
// handler thread (one per process) admits only clients whose public key
// belongs to a job this process serves.
#include <malloc.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "deepspark/distributed/protocol.hpp"
#include "deepspark/distributed/transport.hpp"

namespace deepspark {
namespace distributed {
namespace {

// ZeroMQ's I/O threads do the CURVE encryption of every connection of the
// process: one thread (ZeroMQ's default) capped a server's exchanges at one
// core. A socket stays on one I/O thread, so a server's shards (and a
// worker's connections to them) spread over up to this many.
constexpr int kMaxIoThreads = 4;

// What CURVE adds to a frame on the wire (its MESSAGE command: name, nonce,
// MAC), with room to spare.
constexpr int64_t kCurveFrameOverhead = 256;

void* NewZmqContext() {
  // Every message of a large model is allocated afresh (by ZeroMQ, by
  // CURVE, by the receiver's copy): above glibc's mmap threshold each
  // allocation is a fresh mmap whose pages all fault in, and that was the
  // largest cost of an exchange. At the threshold's ceiling (32 MB; shards
  // are cut below it, param_server.hpp) and with freed memory kept, buffers
  // are reused from the heap instead. Process-wide, set once, before any
  // message exists.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  void* context = zmq_ctx_new();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  CHECK_EQ(zmq_ctx_set(context, ZMQ_IO_THREADS, std::clamp(cores, 1, kMaxIoThreads)), 0);
  return context;
}

void* ZmqContext() {
  static void* context = NewZmqContext();
  return context;
}

// Setting a documented option on a live socket fails only on a bug here.
void SetOption(void* socket, int option, const void* value, size_t size) {
  CHECK_EQ(zmq_setsockopt(socket, option, value, size), 0) << zmq_strerror(errno);
}
void SetInt(void* socket, int option, int value) {
  SetOption(socket, option, &value, sizeof(value));
}

std::mutex g_zap_mutex;
std::set<std::string>* g_allowed_keys = nullptr;

void ZapLoop(std::promise<void>* bound) {
  void* zap = zmq_socket(ZmqContext(), ZMQ_REP);
  SetInt(zap, ZMQ_LINGER, 0);
  CHECK_EQ(zmq_bind(zap, "inproc://zeromq.zap.01"), 0) << zmq_strerror(errno);
  bound->set_value();
  while (true) {
    // Request: version, request id, domain, address, identity, mechanism,
    // credentials (the client's 32-byte public key for CURVE).
    std::vector<std::string> frames;
    int more = 1;
    while (more) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, zap, 0) < 0) {
        zmq_msg_close(&msg);
        if (errno == ETERM) return;
        continue;
      }
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
    }
    if (frames.size() < 6) continue;
    bool allowed = false;
    if (frames[5] == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(frames[6].data()), 32);
      std::lock_guard<std::mutex> lock(g_zap_mutex);
      allowed = g_allowed_keys && g_allowed_keys->count(z85);
    }
    if (!allowed) LOG(WARNING) << "refused a connection without the job key";
    const std::string status = allowed ? "200" : "400";
    const std::string text = allowed ? "OK" : "not a job key";
    const std::string reply[] = {"1.0", frames[1], status, text, allowed ? "worker" : "", ""};
    for (int i = 0; i < 6; ++i) {
      zmq_send(zap, reply[i].data(), reply[i].size(), i < 5 ? ZMQ_SNDMORE : 0);
    }
  }
}

// Starts the ZAP handler (once per process) and admits `client_public_z85`.
void AllowCurveClient(const std::string& client_public_z85) {
  static std::once_flag started;
  {
    std::lock_guard<std::mutex> lock(g_zap_mutex);
    if (!g_allowed_keys) g_allowed_keys = new std::set<std::string>();
    g_allowed_keys->insert(client_public_z85);
  }
  // Without a bound handler libzmq would admit every client: wait for it.
  std::call_once(started, [] {
    std::promise<void> bound;
    std::thread(ZapLoop, &bound).detach();
    bound.get_future().wait();
  });
}

class Socket {
 public:
  explicit Socket(int type) : socket_(zmq_socket(ZmqContext(), type)) {
    CHECK(socket_) << zmq_strerror(errno);
    SetInt(socket_, ZMQ_LINGER, 0);
    // A DEALER whose connection was refused (CURVE/ZAP failure, e.g. a server
    // restarted with another key) has no pipe and would block in send
    // forever; with a timeout the message is lost instead, and the
    // protocol's resends and rejoin deadline apply.
    SetInt(socket_, ZMQ_SNDTIMEO, 2000);
  }
  ~Socket() { zmq_close(socket_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  void* get() const { return socket_; }

  // Frames in order; `identity` (ROUTER) first when not empty. A frame that
  // cannot be sent loses the message (a peer that is gone, a full pipe).
  void Send(const std::string* identity, const std::vector<Frame>& frames) {
    std::vector<Frame> all;
    if (identity) all.push_back({identity->data(), identity->size(), false});
    all.insert(all.end(), frames.begin(), frames.end());
    for (size_t i = 0; i < all.size(); ++i) {
      const int flags = (i + 1 < all.size()) ? ZMQ_SNDMORE : 0;
      zmq_msg_t msg;
      if (all[i].zero_copy && all[i].size > 0) {
        zmq_msg_init_data(&msg, const_cast<void*>(all[i].data), all[i].size, nullptr, nullptr);
      } else {
        zmq_msg_init_size(&msg, all[i].size);
        if (all[i].size) std::memcpy(zmq_msg_data(&msg), all[i].data, all[i].size);
      }
      int rc;
      do {
        rc = zmq_msg_send(&msg, socket_, flags);
      } while (rc < 0 && errno == EINTR);
      if (rc < 0) {
        zmq_msg_close(&msg);
        return;
      }
    }
  }

  bool Receive(std::vector<std::string>* frames, int timeout_ms) {
    frames->clear();
    zmq_pollitem_t item = {socket_, 0, ZMQ_POLLIN, 0};
    int rc;
    do {
      rc = zmq_poll(&item, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0) return false;
    int more = 1;
    while (more) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      do {
        rc = zmq_msg_recv(&msg, socket_, 0);
      } while (rc < 0 && errno == EINTR);
      if (rc < 0) {
        zmq_msg_close(&msg);
        return false;
      }
      frames->emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
    }
    return true;
  }

 private:
  void* socket_;
};

class ZmqPort : public Port {
 public:
  ZmqPort(const JobKey& key, const std::string& address, int64_t max_frame_bytes)
      : socket_(ZMQ_ROUTER) {
    REQUIRE(!key.server_secret.empty()) << "the job key has no server_secret: it cannot serve";
    if (max_frame_bytes > 0) {
      // Checked on each frame's size field, before CURVE and before the
      // frame is buffered; room for CURVE's framing.
      const int64_t limit = max_frame_bytes + kCurveFrameOverhead;
      SetOption(socket_.get(), ZMQ_MAXMSGSIZE, &limit, sizeof(limit));
    }
    AllowCurveClient(key.client_public);
    SetInt(socket_.get(), ZMQ_CURVE_SERVER, 1);
    SetOption(socket_.get(), ZMQ_CURVE_SECRETKEY, key.server_secret.c_str(), 41);
    // The ZAP domain makes libzmq consult the handler for every connection.
    SetOption(socket_.get(), ZMQ_ZAP_DOMAIN, "deepspark", 9);
    REQUIRE(zmq_bind(socket_.get(), address.c_str()) == 0)
        << "cannot listen on " << address << ": " << zmq_strerror(errno);
    char buffer[256];
    size_t size = sizeof(buffer);
    CHECK_EQ(zmq_getsockopt(socket_.get(), ZMQ_LAST_ENDPOINT, buffer, &size), 0);
    address_ = buffer;
  }
  std::string address() const override { return address_; }
  bool Receive(std::string* peer, std::vector<std::string>* frames, int timeout_ms) override {
    if (!socket_.Receive(frames, timeout_ms) || frames->empty()) return false;
    *peer = std::move(frames->front());
    frames->erase(frames->begin());
    return true;
  }
  void Send(const std::string& peer, const std::vector<Frame>& frames) override {
    socket_.Send(&peer, frames);
  }

 private:
  Socket socket_;
  std::string address_;
};

class ZmqConnection : public Connection {
 public:
  ZmqConnection(const JobKey& key, const std::string& address) : socket_(ZMQ_DEALER) {
    SetOption(socket_.get(), ZMQ_CURVE_SERVERKEY, key.server_public.c_str(), 41);
    SetOption(socket_.get(), ZMQ_CURVE_PUBLICKEY, key.client_public.c_str(), 41);
    SetOption(socket_.get(), ZMQ_CURVE_SECRETKEY, key.client_secret.c_str(), 41);
    REQUIRE(zmq_connect(socket_.get(), address.c_str()) == 0)
        << "cannot connect to " << address << ": " << zmq_strerror(errno);
  }
  void Send(const std::vector<Frame>& frames) override { socket_.Send(nullptr, frames); }
  bool Receive(std::vector<std::string>* frames, int timeout_ms) override {
    return socket_.Receive(frames, timeout_ms);
  }
  void* raw() const { return socket_.get(); }

 private:
  Socket socket_;
};

std::string HostOf(const std::string& endpoint) {
  // tcp://HOST:PORT
  const size_t start = endpoint.find("://");
  const size_t colon = endpoint.rfind(':');
  if (start == std::string::npos || colon == std::string::npos || colon <= start + 3) return "";
  return endpoint.substr(start + 3, colon - start - 3);
}

class ZmqTransport : public Transport {
 public:
  ZmqTransport(const JobKey& key, std::string source) : key_(key), source_(std::move(source)) {}
  std::unique_ptr<Port> Listen(const std::string& address, int64_t max_frame_bytes) override {
    return std::make_unique<ZmqPort>(key_, address, max_frame_bytes);
  }
  std::unique_ptr<Connection> Connect(const std::string& address) override {
    if (!source_.empty() && address.rfind("tcp://", 0) == 0) {
      return std::make_unique<ZmqConnection>(key_, "tcp://" + source_ + ":0;" + address.substr(6));
    }
    return std::make_unique<ZmqConnection>(key_, address);
  }
  int WaitAny(const std::vector<Connection*>& connections, int timeout_ms) override {
    std::vector<zmq_pollitem_t> items(connections.size());
    for (size_t i = 0; i < connections.size(); ++i) {
      items[i] = {static_cast<ZmqConnection*>(connections[i])->raw(), 0, ZMQ_POLLIN, 0};
    }
    int rc;
    do {
      rc = zmq_poll(items.data(), static_cast<int>(items.size()), timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0) return -1;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) return static_cast<int>(i);
    }
    return -1;
  }
  int resend_ms() const override { return -1; }  // TCP: never (see ShardCaller)
  std::string ShardAddress(const std::string& listen, int shard) const override {
    if (listen.rfind("ipc://", 0) == 0 || listen.rfind("inproc://", 0) == 0) {
      return listen + ".shard" + std::to_string(shard);
    }
    const size_t colon = listen.rfind(':');
    REQUIRE(listen.rfind("tcp://", 0) == 0 && colon != std::string::npos && colon > 6)
        << "--listen must look like tcp://HOST:PORT or ipc://PATH, not '" << listen << "'";
    return listen.substr(0, colon) + ":0";
  }
  std::string Reachable(const std::string& shard_address,
                        const std::string& control_address) const override {
    if (shard_address.rfind("tcp://", 0) != 0) return shard_address;
    const std::string host = HostOf(shard_address);
    if (host != "0.0.0.0" && host != "*" && host != "[::]") return shard_address;
    const std::string port = shard_address.substr(shard_address.rfind(':') + 1);
    return "tcp://" + HostOf(control_address) + ":" + port;
  }

 private:
  JobKey key_;
  std::string source_;
};

}  // namespace

std::shared_ptr<Transport> MakeZmqTransport(const JobKey& key, const std::string& source_address) {
  return std::make_shared<ZmqTransport>(key, source_address);
}

}  // namespace distributed
}  // namespace deepspark
