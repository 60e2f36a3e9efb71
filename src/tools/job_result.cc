#include "job_result.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "deepspark/common.hpp"

namespace deepspark {
namespace tools {

std::string DefaultResultPath(const std::string& snapshot_prefix) {
  return (snapshot_prefix.empty() ? std::string("deepspark") : snapshot_prefix) + "_result.json";
}

void WriteJobResult(const std::string& path, const distributed::ServerResult& result,
                    const std::vector<WorkerOutcome>& workers, const std::string& error) {
  nlohmann::json j;
  j["ok"] = error.empty();
  j["center_iter"] = result.center_iter;
  j["seconds"] = result.seconds;
  j["total_worker_iters"] = result.total_worker_iters;
  j["caffemodel"] = result.caffemodel;
  j["scores"] = nlohmann::json::array();
  for (const auto& score : result.scores) {
    j["scores"].push_back(
        {{"name", score.name}, {"value", score.value}, {"loss_weight", score.loss_weight}});
  }
  j["target"] = nullptr;
  if (result.target_reached) {
    j["target"] = {{"seconds", result.target_seconds},
                   {"center_iter", result.target_center_iter},
                   {"worker_iters", result.target_worker_iters}};
  }
  j["workers"] = nlohmann::json::array();
  for (const WorkerOutcome& w : workers) {
    nlohmann::json one = {{"rank", w.rank}, {"pid", w.pid}, {"status", w.status}, {"log", w.log}};
    if (w.status == "failed") {
      one["exit_code"] = w.exit_code;
      one["error"] = w.error;
    }
    if (w.status == "killed") one["signal"] = w.signal;
    j["workers"].push_back(one);
  }
  if (!error.empty()) j["error"] = error;
  WriteFileAtomically(path, j.dump(1) + "\n");
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    REQUIRE(out.good()) << "cannot write " << tmp;
    out << text;
    out.close();
    REQUIRE(!out.fail()) << "cannot write " << tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    THROW_ERROR() << "cannot rename " << tmp << " to " << path;
  }
}

}  // namespace tools
}  // namespace deepspark
