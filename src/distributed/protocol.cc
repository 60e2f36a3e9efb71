#include "deepspark/distributed/protocol.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "deepspark/io.hpp"

namespace deepspark {
namespace distributed {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::HELLO:
      return "HELLO";
    case Kind::WELCOME:
      return "WELCOME";
    case Kind::HEARTBEAT:
      return "HEARTBEAT";
    case Kind::CONTROL_REPLY:
      return "CONTROL_REPLY";
    case Kind::PULL:
      return "PULL";
    case Kind::CENTER:
      return "CENTER";
    case Kind::PUSH:
      return "PUSH";
    case Kind::PUSH_ACK:
      return "PUSH_ACK";
    case Kind::SYNC:
      return "SYNC";
    case Kind::SYNC_RESULT:
      return "SYNC_RESULT";
    case Kind::ERROR:
      return "ERROR";
    case Kind::SHARD_JOIN:
      return "SHARD_JOIN";
    case Kind::SHARD_ASSIGN:
      return "SHARD_ASSIGN";
    case Kind::SHARD_POLL:
      return "SHARD_POLL";
    case Kind::SHARD_STATE:
      return "SHARD_STATE";
  }
  return "?";
}

Header ParseHeader(const std::string& frame) {
  if (frame.size() != sizeof(Header)) {
    throw ProtocolError("header has " + std::to_string(frame.size()) + " bytes, expected " +
                        std::to_string(sizeof(Header)));
  }
  Header header;
  std::memcpy(&header, frame.data(), sizeof(Header));
  if (header.magic != kMagic) throw ProtocolError("bad magic (not a DeepSpark message)");
  if (header.version != kProtocolVersion) {
    throw ProtocolError("protocol version " + std::to_string(header.version) + ", expected " +
                        std::to_string(kProtocolVersion));
  }
  if (header.kind < static_cast<uint16_t>(Kind::HELLO) ||
      header.kind > static_cast<uint16_t>(Kind::SHARD_STATE)) {
    throw ProtocolError("unknown message kind " + std::to_string(header.kind));
  }
  return header;
}

uint64_t RandomNonce() {
  static thread_local std::mt19937_64 random(std::random_device{}() ^
                                             static_cast<uint64_t>(getpid()) << 32);
  uint64_t nonce = 0;
  while (nonce == 0) nonce = random();
  return nonce;
}

std::string EscapeForLog(const std::string& text, size_t max_chars) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
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
  // Private from the start (mode 0600 at creation), through a temporary no
  // one can plant, renamed over `path` (io.hpp).
  WriteFileAtomically(path, JobKeyText(key), 0600);
}

JobKey ParseJobKey(const std::string& text, const std::string& source) {
  JobKey key;
  std::istringstream in(text);
  std::string name, value;
  int line = 0;
  while (in >> name >> value) {
    ++line;
    REQUIRE(value.size() == 40) << source << ": key '" << name << "' must be 40 Z85 characters";
    if (name == "server_public")
      key.server_public = value;
    else if (name == "server_secret")
      key.server_secret = value;
    else if (name == "client_public")
      key.client_public = value;
    else if (name == "client_secret")
      key.client_secret = value;
    else
      THROW_ERROR() << source << ": unknown key entry '" << name << "'";
  }
  REQUIRE(!key.server_public.empty() && !key.client_public.empty() && !key.client_secret.empty())
      << source << ": a job key needs server_public, client_public and client_secret";
  return key;
}

JobKey ReadJobKey(const std::string& path) {
  // A key others can read is a key others may hold: refused, as ssh does.
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0)
      << "cannot open job key file " << path << ": " << std::strerror(errno);
  REQUIRE((info.st_mode & 077) == 0)
      << "job key file " << path << " is readable by group or others (mode 0" << std::oct
      << (info.st_mode & 0777) << std::dec
      << "): anyone who can read it can join or impersonate the job; chmod 600 it";
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

}  // namespace distributed
}  // namespace deepspark
