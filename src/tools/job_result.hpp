// Files a distributed job writes for programs to read (not printed lines),
// both with WriteFileAtomically (io.hpp): the endpoint file
// (--endpoint-file: the server's address, once it listens) and
// PREFIX_result.json: what a distributed job ended with, for programs (the
// Spark driver, the check scripts) to read instead of printed lines. Written
// once, at the end, through a temporary file and a rename, so a reader sees
// the whole file or none.
//
// {"ok": bool, "center_iter": int, "seconds": float, "total_worker_iters": int,
//  "caffemodel": path, "scores": [{"name", "value", "loss_weight"}],
//  "target": null | {"seconds", "center_iter", "worker_iters"},
//  "workers": [{"rank", "pid", "status": "finished"|"killed"|"failed",
//               "exit_code" | "signal", "error", "log"}],
//  "error": string (when not ok)}
// `workers` is empty when the server did not start the workers itself.
#pragma once

#include <string>
#include <vector>

#include "deepspark/distributed/param_server.hpp"

namespace deepspark {
namespace tools {

struct WorkerOutcome {
  int rank = 0;
  int pid = 0;
  std::string status;  // finished, killed or failed
  int exit_code = 0;   // failed
  int signal = 0;      // killed
  std::string error;   // the last error line of its log (failed)
  std::string log;
};

// The default result path for a job: PREFIX_result.json.
std::string DefaultResultPath(const std::string& snapshot_prefix);

// Writes the file (throws deepspark::Error naming the path when it cannot).
void WriteJobResult(const std::string& path, const distributed::ServerResult& result,
                    const std::vector<WorkerOutcome>& workers, const std::string& error);

}  // namespace tools
}  // namespace deepspark
