#include "job_result.hpp"

#include <nlohmann/json.hpp>

#include "deepspark/io.hpp"

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

}  // namespace tools
}  // namespace deepspark
