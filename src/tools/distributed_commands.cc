// `deepspark server`, `deepspark worker` and the local launcher behind
// `deepspark train --workers N`.
#include "distributed_commands.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/job.hpp"
#include "deepspark/distributed/shard_server.hpp"
#include "deepspark/distributed/worker.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/io.hpp"
#include "job_result.hpp"

namespace deepspark {
namespace tools {

void AddDistOptions(CLI::App* app, DistOptions* opt, bool with_workers_flag) {
  app->add_option("--workers", opt->workers,
                  with_workers_flag ? "train with N local worker processes and a parameter server"
                                    : "number of workers in the job");
  std::string rules;
  for (const auto& rule : distributed::ExchangeRules()) {
    rules += "\n  " + rule.first + ": " + rule.second;
  }
  app->add_option(
      "--mode", opt->mode,
      "the exchange rule (default async-easgd; with --deepspark-param, deepspark):" + rules);
  app->add_option("--tau", opt->tau, "local iterations between exchanges (default 10)");
  app->add_option("--moving-rate", opt->moving_rate, "elastic moving rate (default 0.9/N)");
  app->add_option("--server-threads", opt->server_threads,
                  "center shards per server process, one thread each");
  app->add_option("--shard-servers", opt->shard_servers,
                  with_workers_flag
                      ? "also split the center over M local shard-server processes"
                      : "split the center over this process and M `deepspark shard-server` "
                        "processes (the job starts once all are there)");
  app->add_option("--lr-power", opt->lr_power,
                  "workers' base_lr times N^P (default: 2/3 under the elastic rules, 0 for "
                  "sync-sgd; see docs/distributed.md)");
  app->add_option("--lr-schedule", opt->lr_schedule,
                  "the lr policy counts each worker's iterations (worker) or all N workers' "
                  "(all: iter x N); default worker")
      ->check(CLI::IsMember({"worker", "all"}));
  app->add_option("--deepspark-param", opt->deepspark_param,
                  "the original DeepSpark job file (period, moving_rate, decay, server_factor)");
  app->add_option("--listen", opt->listen, "server address, tcp://HOST:PORT or ipc://PATH");
  app->add_option("--key-file", opt->key_file, "job key file (made if missing)");
  app->add_option("--metrics", opt->metrics, "JSON-lines metrics file");
  app->add_option("--endpoint-file", opt->endpoint_file,
                  "write the server's address here once it listens (for launchers)");
  app->add_option("--result-file", opt->result_file,
                  "where the job's end is written as JSON (default PREFIX_result.json)");
  app->add_option("--heartbeat-timeout-ms", opt->heartbeat_timeout_ms,
                  "drop a worker silent this long (default 10000)");
  app->add_option("--tester-threads", opt->tester_threads,
                  "threads of the server's tester (default 1: the workers have the cores)");
  app->add_option("--shard-server-wait", opt->shard_server_wait_s,
                  "seconds the server waits for its --shard-servers (default 120)");
  app->add_option("--resume-wait", opt->resume_wait_s,
                  "seconds a server resumed with --snapshot waits for workers (default 120)");
  app->add_option("--slow-rank", opt->slow_rank, "benchmark only: the rank to slow down");
  app->add_option("--slow-delay-ms", opt->slow_delay_ms,
                  "benchmark only: extra milliseconds per iteration of --slow-rank");
  app->add_option("--fail-rank", opt->fail_rank,
                  "fault injection only: the rank whose worker stops with an error");
  app->add_option("--fail-after", opt->fail_after,
                  "fault injection only: iterations before --fail-rank errors out (default 10)");
  app->add_option("--target-accuracy", opt->target_accuracy,
                  "benchmark: end the job when the center's test accuracy reaches this");
}

distributed::ServerOptions MakeServerOptions(const std::string& solver_path, const DistOptions& opt,
                                             const std::string& weights,
                                             const std::string& snapshot) {
  distributed::ServerOptions s;
  s.solver = distributed::ReadJobSolver(solver_path);
  s.solver_path = solver_path;
  s.num_workers = opt.workers;
  s.rule =
      opt.mode.empty() ? (opt.deepspark_param.empty() ? "async-easgd" : "deepspark") : opt.mode;
  distributed::NewExchangeRule(s.rule);  // an unknown name fails here, listing the known ones
  s.tau = 10;
  if (!opt.deepspark_param.empty()) {
    ReadProtoFromTextFile(opt.deepspark_param, &s.schedule);
    s.tau = s.schedule.period();
    s.moving_rate = s.schedule.moving_rate();
    REQUIRE(s.tau >= 1) << opt.deepspark_param << ": period must be at least 1";
  }
  if (opt.tau > 0) s.tau = opt.tau;
  if (opt.moving_rate >= 0) s.moving_rate = opt.moving_rate;
  REQUIRE(s.moving_rate < 0 || s.moving_rate <= 1)
      << "--moving-rate must be in [0, 1], not " << s.moving_rate;
  s.server_threads = opt.server_threads;
  s.shard_servers = opt.shard_servers;
  s.shard_server_wait_s = opt.shard_server_wait_s;
  REQUIRE(opt.lr_power < 0 || opt.lr_power <= 2)
      << "--lr-power must be in [0, 2], not " << opt.lr_power;
  s.lr_power = opt.lr_power;
  s.lr_schedule_by_all = opt.lr_schedule.empty() ? -1 : (opt.lr_schedule == "all" ? 1 : 0);
  if (!opt.listen.empty()) {
    s.listen = opt.listen.find("://") == std::string::npos ? "tcp://" + opt.listen : opt.listen;
  }
  s.weights = weights;
  s.snapshot = snapshot;
  s.metrics_path = opt.metrics;
  s.heartbeat_timeout_ms = opt.heartbeat_timeout_ms;
  s.tester_threads = opt.tester_threads;
  s.resume_wait_s = opt.resume_wait_s;
  s.slow_rank = opt.slow_rank;
  s.slow_delay_us = static_cast<int64_t>(opt.slow_delay_ms * 1000);
  s.fail_rank = opt.fail_rank;
  s.fail_after = opt.fail_after;
  s.target_accuracy = opt.target_accuracy;
  return s;
}

void PrintCenterResult(const distributed::ServerResult& result) {
  std::printf("center iteration %d after %.1f s, %lld worker iterations\n", result.center_iter,
              result.seconds, static_cast<long long>(result.total_worker_iters));
  for (const auto& score : result.scores) {
    if (score.loss_weight) {
      std::printf("%s = %g (* %g = %g loss)\n", score.name.c_str(), score.value, score.loss_weight,
                  score.value * score.loss_weight);
    } else {
      std::printf("%s = %g\n", score.name.c_str(), score.value);
    }
  }
  if (result.target_reached) {
    std::printf("target reached after %.1f s at center iteration %d, %lld worker iterations\n",
                result.target_seconds, result.target_center_iter,
                static_cast<long long>(result.target_worker_iters));
  }
  if (!result.caffemodel.empty()) std::printf("center saved to %s\n", result.caffemodel.c_str());
  std::fflush(stdout);
}

namespace {
pid_t SpawnWorker(const std::string& self, const std::vector<std::string>& args,
                  const std::string& log_path) {
  // Everything the child needs is made before fork: this process has
  // threads (the server's, ZeroMQ's), and a lock one of them held at the
  // fork stays locked in the child, so the child may only make
  // async-signal-safe calls (no malloc) until execv. (An allocation there
  // hung a worker under ThreadSanitizer, whose allocator lock it was.)
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("deepspark"));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(log_fd >= 0) << "cannot create the log " << log_path << ": " << std::strerror(errno);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // A worker dies with the job: when `train --workers` is killed, its
    // workers get SIGTERM from the kernel instead of training on orphaned
    // until their server gives up. (The parent may already be gone.)
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    // dup2 clears O_CLOEXEC on the copies; the original closes at exec.
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(self.c_str(), argv.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  REQUIRE(pid >= 0) << "fork failed: " << std::strerror(fork_errno);
  return pid;
}
}  // namespace

namespace {
// The last line of a worker's log that reports an error, for the job's
// own error message ("" if none).
std::string LastErrorLine(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find("error") != std::string::npos || line.rfind("E", 0) == 0) last = line;
  }
  return last;
}
}  // namespace

int RunLocalJob(const std::string& solver_path, const std::string& weights,
                const DistOptions& opt) {
  REQUIRE(opt.workers >= 1) << "--workers must be at least 1";
  distributed::ServerOptions server_options = MakeServerOptions(solver_path, opt, weights, "");
  if (!opt.gpu.empty()) {
    // Checked here, before anything starts, as each worker checks it again.
    std::string why;
    const int count = Gpu().DeviceCount(&why);
    const std::vector<int> ids = ParseGpuIds(opt.gpu, count, why);
    LOG(INFO) << opt.workers << " workers on GPU(s) " << opt.gpu << ": worker i on GPU "
              << "ids[i mod " << ids.size() << "]";
  }
  // A fresh key for this job, readable by this user only.
  const std::string prefix = server_options.solver.snapshot_prefix().empty()
                                 ? std::string("deepspark")
                                 : server_options.solver.snapshot_prefix();
  const std::string run_dir = prefix + "_job";
  mkdir(run_dir.c_str(), 0700);
  const std::string key_file = opt.key_file.empty() ? run_dir + "/job.key" : opt.key_file;
  if (!FileExists(key_file)) distributed::WriteJobKey(distributed::GenerateJobKey(), key_file);
  server_options.key = distributed::ReadJobKey(key_file);
  if (opt.listen.empty()) server_options.listen = "tcp://127.0.0.1:0";
  distributed::ParameterServer server(server_options);
  server.Start();
  const std::string self = ToolExecutable();
  // Shard servers first: the server welcomes workers once they are there.
  std::vector<pid_t> shard_server_pids;
  for (int i = 0; i < opt.shard_servers; ++i) {
    const std::string log = run_dir + "/shard_server_" + std::to_string(i + 1) + ".log";
    shard_server_pids.push_back(
        SpawnWorker(self,
                    {"shard-server", "--server=" + server.control_endpoint(),
                     "--key-file=" + key_file, "--listen=tcp://127.0.0.1:0"},
                    log));
    LOG(INFO) << "Started shard server " << i + 1 << " (pid " << shard_server_pids.back()
              << "), log " << log;
  }
  std::vector<pid_t> children;
  for (int i = 0; i < opt.workers; ++i) {
    std::vector<std::string> args = {"worker", "--server=" + server.control_endpoint(),
                                     "--key-file=" + key_file, "--rank=" + std::to_string(i)};
    // Without --threads the workers share the cores: N workers each taking
    // every core would make N OpenMP teams spin against each other.
    const int hardware = static_cast<int>(std::thread::hardware_concurrency());
    const int threads = opt.threads > 0 ? opt.threads : std::max(1, hardware / opt.workers);
    args.push_back("--threads=" + std::to_string(threads));
    if (!opt.gpu.empty()) args.push_back("--gpu=" + opt.gpu);
    const std::string log = run_dir + "/worker_" + std::to_string(i) + ".log";
    children.push_back(SpawnWorker(self, args, log));
    LOG(INFO) << "Started worker " << i << " (pid " << children.back() << "), log " << log;
  }
  distributed::ServerResult result;
  try {
    result = server.Wait();
  } catch (...) {
    // The job failed: its workers and shard servers go with it.
    for (pid_t pid : shard_server_pids) kill(pid, SIGTERM);
    for (pid_t pid : children) kill(pid, SIGTERM);
    for (pid_t pid : shard_server_pids) waitpid(pid, nullptr, 0);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);
    throw;
  }
  // Shard servers end when the server tells them (Wait has).
  for (pid_t pid : shard_server_pids) {
    int status = 0;
    for (int waited = 0; waited < 50 && waitpid(pid, &status, WNOHANG) != pid; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (waited == 49) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
    }
  }
  // Workers end on their own once done; give stragglers a moment. A worker
  // killed by a signal was dropped and the job went on without it (the
  // design's fault tolerance: a warning); one that exited with an error
  // code failed (bad data, bad config): the job reports it and fails.
  std::vector<WorkerOutcome> outcomes;
  std::string failures;
  for (int rank = 0; rank < static_cast<int>(children.size()); ++rank) {
    const pid_t pid = children[rank];
    int status = 0;
    for (int waited = 0; waited < 300; ++waited) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (waited == 299) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
    }
    WorkerOutcome w;
    w.rank = rank;
    w.pid = pid;
    w.log = run_dir + "/worker_" + std::to_string(rank) + ".log";
    w.status = "finished";
    if (WIFSIGNALED(status)) {
      w.status = "killed";
      w.signal = WTERMSIG(status);
      LOG(WARNING) << "worker " << rank << " (pid " << pid << ") was killed by signal " << w.signal
                   << "; the job went on without it (log " << w.log << ")";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      w.status = "failed";
      w.exit_code = WEXITSTATUS(status);
      w.error = LastErrorLine(w.log);
      failures += std::string(failures.empty() ? "" : "; ") + "worker " + std::to_string(rank) +
                  " (pid " + std::to_string(pid) + ") exited with code " +
                  std::to_string(w.exit_code) + ": " + w.error + " (log " + w.log + ")";
    }
    outcomes.push_back(w);
  }
  PrintCenterResult(result);
  const std::string error = failures.empty() ? "" : "the job's workers failed: " + failures;
  const std::string result_path =
      opt.result_file.empty() ? DefaultResultPath(prefix) : opt.result_file;
  WriteJobResult(result_path, result, outcomes, error);
  LOG(INFO) << "Job result in " << result_path;
  REQUIRE(error.empty()) << error;
  return 0;
}

namespace {
struct ServerCommandOptions {
  std::string solver, weights, snapshot;
  DistOptions dist;
};
struct WorkerCommandOptions {
  distributed::WorkerOptions worker;
};
}  // namespace

Command AddServerCommand(CLI::App* app) {
  auto opt = std::make_shared<ServerCommandOptions>();
  app->add_option("--solver", opt->solver, "solver prototxt")->required();
  app->add_option("--weights", opt->weights, "start the center from these .caffemodel files");
  app->add_option("--snapshot", opt->snapshot, "resume from a .serverstate");
  AddDistOptions(app, &opt->dist, false);
  return [opt]() {
    REQUIRE(opt->dist.workers >= 1) << "server needs --workers N";
    REQUIRE(!opt->dist.listen.empty()) << "server needs --listen tcp://HOST:PORT";
    REQUIRE(opt->weights.empty() || opt->snapshot.empty())
        << "give --snapshot to resume or --weights to start from, not both";
    distributed::ServerOptions options =
        MakeServerOptions(opt->solver, opt->dist, opt->weights, opt->snapshot);
    std::string key_file = opt->dist.key_file;
    if (key_file.empty()) {
      const char* env = std::getenv("DEEPSPARK_JOB_KEY_FILE");
      if (env && *env) key_file = env;
    }
    REQUIRE(!key_file.empty()) << "server needs --key-file (created if missing)";
    if (!FileExists(key_file)) {
      distributed::WriteJobKey(distributed::GenerateJobKey(), key_file);
      LOG(INFO) << "Wrote a new job key to " << key_file << "; give it to the workers";
    }
    options.key = distributed::ReadJobKey(key_file);
    distributed::ParameterServer server(options);
    server.Start();
    std::printf("listening on %s\n", server.control_endpoint().c_str());
    std::fflush(stdout);
    if (!opt->dist.endpoint_file.empty()) {
      WriteFileAtomically(opt->dist.endpoint_file, server.control_endpoint() + "\n");
    }
    const distributed::ServerResult result = server.Wait();
    PrintCenterResult(result);
    const std::string result_path = opt->dist.result_file.empty()
                                        ? DefaultResultPath(options.solver.snapshot_prefix())
                                        : opt->dist.result_file;
    WriteJobResult(result_path, result, {}, "");
    LOG(INFO) << "Job result in " << result_path;
    return 0;
  };
}

Command AddShardServerCommand(CLI::App* app) {
  auto opt = std::make_shared<distributed::ShardServerOptions>();
  auto key_file = std::make_shared<std::string>();
  app->add_option("--server", opt->server, "the parameter server's address")->required();
  app->add_option("--key-file", *key_file, "job key file (the server's)");
  app->add_option("--listen", opt->listen,
                  "tcp://HOST:0 with the address workers reach this host at; each shard binds "
                  "a port there")
      ->required();
  app->add_option("--source-address", opt->source_address,
                  "local IP address the connection to the server leaves from");
  app->add_option("--give-up", opt->give_up_ms,
                  "milliseconds without an answer from the server before it is lost "
                  "(default 30000)");
  return [opt, key_file]() {
    opt->key = distributed::LoadJobKey(*key_file);
    const distributed::ShardServerResult result = distributed::ShardServer(*opt).Run();
    std::printf("shard server %d: %d shard(s), %lld floats, center iteration %d\n", result.process,
                result.shards, static_cast<long long>(result.floats), result.center_iter);
    return 0;
  };
}

Command AddWorkerCommand(CLI::App* app) {
  auto opt = std::make_shared<WorkerCommandOptions>();
  app->add_option("--server", opt->worker.server, "the server's address")->required();
  app->add_option("--key-file", opt->worker.key_file, "job key file");
  app->add_option("--rank", opt->worker.rank, "rank to take (default: any free one)");
  app->add_option("--train-source", opt->worker.train_source,
                  "read training data from this database instead of the net's");
  app->add_option("--threads", opt->worker.threads,
                  "threads of this worker's step (default: all cores; see README)");
  app->add_option("--rejoin-timeout", opt->worker.rejoin_timeout_s,
                  "seconds to keep trying to reach a lost server (default 120)");
  app->add_option("--source-address", opt->worker.source_address,
                  "local IP address this worker's connections leave from (multi-homed "
                  "hosts, and the emulated cluster of bench/cluster)");
  app->add_option("--gpu", opt->worker.gpu,
                  "GPUs to train on: N, a,b or all; the worker takes ids[rank mod count] "
                  "(default: solver_mode decides)");
  return [opt]() { return distributed::RunWorker(opt->worker); };
}

}  // namespace tools
}  // namespace deepspark
