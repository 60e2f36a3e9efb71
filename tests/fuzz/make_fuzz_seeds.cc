// Writes the seed corpora of the fuzz targets that cannot take files of the
// zoo as they are (scripts/fuzz.sh adds the zoo's prototxts, weights and
// solver states): Datums (raw, encoded PNG), small LMDB and LevelDB data
// files, IDX pairs, wire messages and the answers peers send back. Usage: make_fuzz_seeds
// CORPUS_ROOT
#include <google/protobuf/text_format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "deepspark/db.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/proto/deepspark.pb.h"

namespace fs = std::filesystem;
using namespace deepspark;

namespace {
void Write(const fs::path& path, uint8_t prefix, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(prefix));
  out << bytes;
}

caffe::Datum RawDatum(int c, int h, int w, int label) {
  caffe::Datum d;
  d.set_channels(c);
  d.set_height(h);
  d.set_width(w);
  d.set_label(label);
  std::string pixels(static_cast<size_t>(c) * h * w, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * 7);
  d.set_data(pixels);
  return d;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Idx(uint32_t magic, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out;
  auto put = [&out](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(v >> s));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  return out + data;
}

std::string Message(distributed::Kind kind, int rank, int shard, const std::string& payload,
                    uint64_t count) {
  distributed::Header h;
  h.kind = static_cast<uint16_t>(kind);
  h.rank = rank;
  h.shard = shard;
  h.request_id = 1;
  h.count = count;
  return std::string(reinterpret_cast<const char*>(&h), sizeof(h)) + payload;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path root = argv[1];
  // Datums: the prefix byte picks transform options (fuzz_datum.cc).
  Write(root / "datum/mnist", 0, RawDatum(1, 28, 28, 3).SerializeAsString());
  Write(root / "datum/color_crop", 0x13, RawDatum(3, 8, 6, 1).SerializeAsString());
  {
    cv::Mat image(6, 5, CV_8UC3, cv::Scalar(10, 200, 30));
    std::vector<uchar> png;
    cv::imencode(".png", image, png);
    caffe::Datum d;
    d.set_encoded(true);
    d.set_label(2);
    d.set_data(std::string(png.begin(), png.end()));
    Write(root / "datum/png", 0x06, d.SerializeAsString());
  }
  // Databases: an LMDB's data.mdb (prefix 0), a LevelDB's table (prefix 1)
  // and a record file (prefix 2).
  const fs::path scratch = root / "scratch";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  for (const std::string backend : {"lmdb", "leveldb", "records"}) {
    const fs::path dir = scratch / backend;
    auto db = db::GetDB(backend);
    db->Open(dir.string(), db::NEW);
    auto txn = db->NewTransaction();
    for (int i = 0; i < 5; ++i) {
      txn->Put("0000000" + std::to_string(i), RawDatum(1, 4, 4, i).SerializeAsString());
    }
    txn->Commit();
    db->Close();
    if (backend == "records") {
      Write(root / "db" / backend, 2, ReadAll(dir));
      continue;
    }
    fs::path data_file;
    uintmax_t largest = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name == "lock.mdb" || name == "CURRENT" || name.find("LOG") != std::string::npos ||
          name.find("MANIFEST") != std::string::npos || e.file_size() < largest) {
        continue;
      }
      largest = e.file_size();
      data_file = e.path();
    }
    Write(root / "db" / backend, backend == "leveldb" ? 1 : 0, ReadAll(data_file));
  }
  fs::remove_all(scratch);
  // IDX pairs: two length bytes for the image file, then both files.
  {
    const std::string images = Idx(2051, {2, 3, 3}, std::string(18, '\x40'));
    const std::string labels = Idx(2049, {2}, std::string("\x01\x07", 2));
    std::string seed;
    seed.push_back(static_cast<char>(images.size() >> 8));
    seed.push_back(static_cast<char>(images.size() & 255));
    fs::create_directories(root / "idx");
    std::ofstream(root / "idx/pair", std::ios::binary) << seed << images << labels;
  }
  // Wire messages: the prefix picks the endpoint, framing and session
  // (fuzz_wire.cc): 0 control, 1 shard 0, 2 shard 1, 3 a job description;
  // 4: a full 48-byte header; 8: in the worker's session; 16: split payload.
  {
    pb::Hello hello;
    hello.set_requested_rank(1);
    hello.set_nonce(7);
    Write(
        root / "wire/hello", 4,
        Message(distributed::Kind::HELLO, -1, -1, hello.SerializeAsString(), hello.ByteSizeLong()));
    pb::WorkerMetrics m;
    m.set_rank(0);
    m.set_iter(10);
    Write(root / "wire/heartbeat", 4 | 8,
          Message(distributed::Kind::HEARTBEAT, 0, -1, m.SerializeAsString(), m.ByteSizeLong()));
    Write(root / "wire/pull", 1 | 4 | 8, Message(distributed::Kind::PULL, 0, 0, "", 0));
    const std::string floats(4 * 4, '\0');
    Write(root / "wire/push", 1 | 4 | 8, Message(distributed::Kind::PUSH, 0, 0, floats, 4));
    Write(root / "wire/sync", 2 | 4 | 8 | 16, Message(distributed::Kind::SYNC, 0, 1, floats, 4));
    pb::JobSpec spec;
    spec.set_rank(0);
    spec.set_num_workers(2);
    spec.set_tau(10);
    spec.set_param_count(8);
    spec.add_shard_begin(0);
    spec.add_shard_begin(4);
    spec.add_shard_endpoint("mem://fuzz.shard0");
    spec.add_shard_endpoint("mem://fuzz.shard1");
    Write(root / "wire/welcome", 3, spec.SerializeAsString());
  }
  // Answers (fuzz_answers.cc): frames, each after its 16-bit length; the
  // prefix: 1 the shard server's side, 2 patch the header, 4/8 the request.
  {
    auto framed = [](const std::vector<std::string>& frames) {
      std::string out;
      for (const auto& f : frames) {
        out.push_back(static_cast<char>(f.size() & 255));
        out.push_back(static_cast<char>(f.size() >> 8));
        out += f;
      }
      return out;
    };
    auto header = [](distributed::Kind kind, uint64_t count) {
      distributed::Header h;
      h.kind = static_cast<uint16_t>(kind);
      h.count = count;
      return std::string(reinterpret_cast<const char*>(&h), sizeof(h));
    };
    Write(root / "answers/center", 2,
          framed({header(distributed::Kind::CENTER, 4), std::string(16, '\0')}));
    Write(root / "answers/push_ack", 2 | 4, framed({header(distributed::Kind::PUSH_ACK, 0)}));
    Write(root / "answers/sync_result", 2 | 8,
          framed({header(distributed::Kind::SYNC_RESULT, 4), std::string(16, '\0')}));
    Write(root / "answers/error", 2,
          framed({header(distributed::Kind::ERROR, 0), std::string("not a member")}));
    pb::ShardAssignment assignment;
    assignment.set_process(1);
    assignment.set_rule("async-easgd");
    for (int k = 0; k < 2; ++k) {
      assignment.add_shard(2 * k + 1);
      assignment.add_shard_begin(4 * k);
      assignment.add_shard_count(4);
    }
    const std::string bytes = assignment.SerializeAsString();
    Write(root / "answers/shard_assign", 1 | 2,
          framed({header(distributed::Kind::SHARD_ASSIGN, bytes.size()), bytes,
                  std::string(16, '\0'), std::string(16, '\0')}));
  }
  return 0;
}
