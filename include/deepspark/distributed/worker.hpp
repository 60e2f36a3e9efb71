// A DeepSpark worker: joins the job at the server, builds the solver the
// server sends (its own Caffe solver, with its own momentum history), reads
// only its partition of the training data, and every tau iterations
// exchanges parameters with the center by the job's rule. Heartbeats with
// its metrics go out from a second thread. The same command run again after
// a crash rejoins under the same rank and continues from the center.
#pragma once

#include <memory>
#include <string>

#include "deepspark/distributed/transport.hpp"

namespace deepspark {
namespace distributed {

struct WorkerOptions {
  std::string server;        // control endpoint, tcp://HOST:PORT
  std::string key_file;      // job key (else DEEPSPARK_JOB_KEY_FILE / _KEY)
  int rank = -1;             // -1: any free rank
  std::string train_source;  // overrides the train Data layer's source
  int threads = 0;           // BLAS threads (0: library default)
  int rejoin_timeout_s = 120;
  std::string source_address;  // local IP the tcp connections leave from ("": any)
  // Caffe's --gpu: "N", "a,b" or "all"; the worker trains on
  // ids[rank mod their count] (WorkerGpu). "": the solver's solver_mode
  // decides (GPU: rank mod this machine's devices; CPU: the CPU).
  std::string gpu;
  // How to reach the server; null: ZeroMQ with the job key. Tests give an
  // InProcessNetwork node (then no key is read).
  std::shared_ptr<Transport> transport;
};

// The GPU a worker of `rank` trains on: ids[rank mod their count] of
// --gpu=`flag` (so N workers spread over a host's devices, several to a
// device when there are more workers), or, for an empty flag, every device
// of the machine when `solver_wants_gpu` (solver_mode: GPU) and it has one;
// -1 for the CPU. Throws deepspark::Error for a flag the machine's devices
// do not satisfy (ParseGpuIds: no device, an id out of range).
int WorkerGpu(const std::string& flag, bool solver_wants_gpu, int rank);

// Runs until the worker's iterations are done or the server says stop.
// Returns the process exit code; throws deepspark::Error on bad input.
int RunWorker(const WorkerOptions& options);

}  // namespace distributed
}  // namespace deepspark
