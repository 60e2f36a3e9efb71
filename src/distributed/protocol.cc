#include "deepspark/distributed/protocol.hpp"

#include <sys/stat.h>
#include <zmq.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "deepspark/io.hpp"

namespace deepspark {
namespace distributed {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::HELLO: return "HELLO";
    case Kind::WELCOME: return "WELCOME";
    case Kind::HEARTBEAT: return "HEARTBEAT";
    case Kind::CONTROL_REPLY: return "CONTROL_REPLY";
    case Kind::PULL: return "PULL";
    case Kind::CENTER: return "CENTER";
    case Kind::PUSH: return "PUSH";
    case Kind::PUSH_ACK: return "PUSH_ACK";
    case Kind::SYNC: return "SYNC";
    case Kind::SYNC_RESULT: return "SYNC_RESULT";
    case Kind::ERROR: return "ERROR";
  }
  return "?";
}

std::string ValidateHeader(const void* data, size_t size, Header* header) {
  if (size != sizeof(Header)) {
    return "header has " + std::to_string(size) + " bytes, expected " +
           std::to_string(sizeof(Header));
  }
  std::memcpy(header, data, sizeof(Header));
  if (header->magic != kMagic) return "bad magic (not a DeepSpark message)";
  if (header->version != kProtocolVersion) {
    return "protocol version " + std::to_string(header->version) + ", expected " +
           std::to_string(kProtocolVersion);
  }
  if (header->kind < static_cast<uint16_t>(Kind::HELLO) ||
      header->kind > static_cast<uint16_t>(Kind::ERROR)) {
    return "unknown message kind " + std::to_string(header->kind);
  }
  return "";
}

void* ZmqContext() {
  static void* context = zmq_ctx_new();
  return context;
}

JobKey GenerateJobKey() {
  REQUIRE(zmq_has("curve")) << "this libzmq has no CURVE support; cannot secure the job";
  JobKey key;
  char pub[41], sec[41];
  REQUIRE(zmq_curve_keypair(pub, sec) == 0) << "zmq_curve_keypair: " << zmq_strerror(errno);
  key.server_public = pub;
  key.server_secret = sec;
  REQUIRE(zmq_curve_keypair(pub, sec) == 0) << "zmq_curve_keypair: " << zmq_strerror(errno);
  key.client_public = pub;
  key.client_secret = sec;
  return key;
}

std::string JobKeyText(const JobKey& key) {
  return "server_public " + key.server_public + "\nserver_secret " + key.server_secret +
         "\nclient_public " + key.client_public + "\nclient_secret " + key.client_secret + "\n";
}

void WriteJobKey(const JobKey& key, const std::string& path) {
  WriteFileAtomically(path, JobKeyText(key));
  chmod(path.c_str(), 0600);
}

JobKey ParseJobKey(const std::string& text, const std::string& source) {
  JobKey key;
  std::istringstream in(text);
  std::string name, value;
  int line = 0;
  while (in >> name >> value) {
    ++line;
    REQUIRE(value.size() == 40) << source << ": key '" << name << "' must be 40 Z85 characters";
    if (name == "server_public") key.server_public = value;
    else if (name == "server_secret") key.server_secret = value;
    else if (name == "client_public") key.client_public = value;
    else if (name == "client_secret") key.client_secret = value;
    else THROW_ERROR() << source << ": unknown key entry '" << name << "'";
  }
  REQUIRE(!key.server_public.empty() && !key.client_public.empty() &&
          !key.client_secret.empty())
      << source << ": a job key needs server_public, client_public and client_secret";
  return key;
}

JobKey ReadJobKey(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good()) << "cannot open job key file " << path << ": " << std::strerror(errno);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseJobKey(buffer.str(), path);
}

JobKey LoadJobKey(const std::string& key_file) {
  if (!key_file.empty()) return ReadJobKey(key_file);
  const char* file = std::getenv("DEEPSPARK_JOB_KEY_FILE");
  if (file && *file) return ReadJobKey(file);
  const char* text = std::getenv("DEEPSPARK_JOB_KEY");
  if (text && *text) return ParseJobKey(text, "DEEPSPARK_JOB_KEY");
  THROW_ERROR() << "no job key: give --key-file, or set DEEPSPARK_JOB_KEY_FILE or "
                   "DEEPSPARK_JOB_KEY";
  return JobKey();
}

Socket::Socket(int type) : socket_(zmq_socket(ZmqContext(), type)) {
  CHECK(socket_) << zmq_strerror(errno);
  SetOption(ZMQ_LINGER, 0);
  // A DEALER whose connection was refused (CURVE/ZAP failure, e.g. a server
  // restarted with another key) has no pipe left and would block in send
  // forever; with a send timeout the send fails, the answer never comes, and
  // the caller's own timeouts (rejoin, then give up) apply.
  SetOption(ZMQ_SNDTIMEO, 2000);
}

Socket::~Socket() { zmq_close(socket_); }

void Socket::SetOption(int option, int value) {
  CHECK_EQ(zmq_setsockopt(socket_, option, &value, sizeof(value)), 0) << zmq_strerror(errno);
}

void Socket::SetCurveServer(const JobKey& key) {
  REQUIRE(!key.server_secret.empty()) << "the job key has no server_secret: it cannot serve";
  SetOption(ZMQ_CURVE_SERVER, 1);
  CHECK_EQ(zmq_setsockopt(socket_, ZMQ_CURVE_SECRETKEY, key.server_secret.c_str(), 41), 0)
      << zmq_strerror(errno);
  // ZAP domain: makes libzmq consult the handler for every connection.
  CHECK_EQ(zmq_setsockopt(socket_, ZMQ_ZAP_DOMAIN, "deepspark", 9), 0);
}

void Socket::SetCurveClient(const JobKey& key) {
  CHECK_EQ(zmq_setsockopt(socket_, ZMQ_CURVE_SERVERKEY, key.server_public.c_str(), 41), 0)
      << zmq_strerror(errno);
  CHECK_EQ(zmq_setsockopt(socket_, ZMQ_CURVE_PUBLICKEY, key.client_public.c_str(), 41), 0)
      << zmq_strerror(errno);
  CHECK_EQ(zmq_setsockopt(socket_, ZMQ_CURVE_SECRETKEY, key.client_secret.c_str(), 41), 0)
      << zmq_strerror(errno);
}

void Socket::Bind(const std::string& endpoint) {
  REQUIRE(zmq_bind(socket_, endpoint.c_str()) == 0)
      << "cannot listen on " << endpoint << ": " << zmq_strerror(errno);
}

void Socket::Connect(const std::string& endpoint) {
  REQUIRE(zmq_connect(socket_, endpoint.c_str()) == 0)
      << "cannot connect to " << endpoint << ": " << zmq_strerror(errno);
}

std::string Socket::LastEndpoint() const {
  char buffer[256];
  size_t size = sizeof(buffer);
  CHECK_EQ(zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, buffer, &size), 0);
  return std::string(buffer);
}

void Socket::Send(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = (i + 1 < frames.size()) ? ZMQ_SNDMORE : 0;
    zmq_msg_t msg;
    if (frames[i].zero_copy && frames[i].size > 0) {
      zmq_msg_init_data(&msg, const_cast<void*>(frames[i].data), frames[i].size, nullptr,
                        nullptr);
    } else {
      zmq_msg_init_size(&msg, frames[i].size);
      if (frames[i].size) std::memcpy(zmq_msg_data(&msg), frames[i].data, frames[i].size);
    }
    while (zmq_msg_send(&msg, socket_, flags) < 0) {
      if (errno == EINTR) continue;
      // ROUTER drops messages to unknown peers silently; anything else is
      // a broken socket.
      zmq_msg_close(&msg);
      LOG(WARNING) << "zmq send failed: " << zmq_strerror(errno);
      return;
    }
  }
}

bool Socket::Receive(std::vector<std::string>* frames, int timeout_ms) {
  frames->clear();
  if (timeout_ms >= 0) {
    zmq_pollitem_t item = {socket_, 0, ZMQ_POLLIN, 0};
    int rc;
    do {
      rc = zmq_poll(&item, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0) return false;
  }
  int more = 1;
  while (more) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc;
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

namespace {
std::mutex g_zap_mutex;
std::set<std::string>* g_allowed_keys = nullptr;

void ZapLoop(std::promise<void>* bound) {
  void* zap = zmq_socket(ZmqContext(), ZMQ_REP);
  int linger = 0;
  zmq_setsockopt(zap, ZMQ_LINGER, &linger, sizeof(linger));
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
}  // namespace

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

}  // namespace distributed
}  // namespace deepspark
