// Options shared by `deepspark train --workers`, `deepspark server` and
// `deepspark worker`, and the local launcher.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "deepspark/distributed/param_server.hpp"

namespace deepspark {
namespace tools {

struct DistOptions {
  int workers = 0;
  std::string mode;        // exchange rule; empty: async-easgd, or deepspark with --deepspark-param
  int tau = 0;             // 0: the default (10) or the job file's period
  float moving_rate = -1;  // < 0: 0.9 / N or the job file's moving_rate
  int server_threads = 2;
  int shard_servers = 0;  // the center over 1 + M processes (shard_server.hpp)
  int shard_server_wait_s = 120;
  float lr_power = -1;      // < 0: the rule's default (ServerOptions::lr_power)
  std::string lr_schedule;  // "", "worker" or "all" (ServerOptions::lr_schedule_by_all)
  std::string deepspark_param;
  std::string listen;
  std::string key_file;
  std::string metrics;
  int heartbeat_timeout_ms = 10000;
  int slow_rank = -1;
  double slow_delay_ms = 0;   // benchmark only
  std::string result_file;    // default PREFIX_result.json (job_result.hpp)
  std::string endpoint_file;  // server: its address, written once it listens
  int fail_rank = -1;         // fault injection only
  int fail_after = 10;
  int threads = 0;
  std::string gpu;            // the workers' --gpu ("", "N", "a,b", "all"): rank mod the ids
  int tester_threads = 1;     // BLAS threads of the server's tester
  int resume_wait_s = 120;    // a resumed server waits this long for workers
  float target_accuracy = 0;  // benchmark: stop at this center accuracy
};

// Adds the distributed options to a command.
void AddDistOptions(CLI::App* app, DistOptions* opt, bool with_workers_flag);
// Fills the server options from the command line and the solver file.
distributed::ServerOptions MakeServerOptions(const std::string& solver_path, const DistOptions& opt,
                                             const std::string& weights,
                                             const std::string& snapshot);
// `deepspark train --workers N`: a server in this process and N worker
// processes on this machine; returns the exit code.
int RunLocalJob(const std::string& solver_path, const std::string& weights, const DistOptions& opt);
// Prints the center's final scores like `deepspark test` does.
void PrintCenterResult(const distributed::ServerResult& result);

}  // namespace tools
}  // namespace deepspark
