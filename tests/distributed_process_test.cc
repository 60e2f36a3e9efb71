// The distributed job with real processes (the built `deepspark` tool) on a
// tiny MNIST job: a local run, a worker killed and restarted, and a server
// killed and resumed from its snapshot. Everything listens on 127.0.0.1;
// waits poll files and log lines with deadlines; leftovers are killed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "data_test_util.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/tools.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

std::string ReadAll(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `ready` every 50 ms until it holds or `seconds` pass.
bool WaitFor(const std::function<bool()> &ready, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// How long a job may take before the test calls it hung: a guard, not a
// speed check, so generous enough for ThreadSanitizer builds (5-15x slower)
// on a loaded 2-core machine.
constexpr double kHangGuardS = 300;

class DistProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir;
    const std::string mnist = SharedDir() + "/datasets/mnist";
    ConvertMnist(mnist + "/t10k-images-idx3-ubyte.gz", mnist + "/t10k-labels-idx1-ubyte.gz",
                 *data_ / "mnist_lmdb", "lmdb");
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void TearDown() override {
    for (pid_t pid : pids_) {
      if (waitpid(pid, nullptr, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  }

  // A two-layer perceptron on the LMDB, batch 16.
  std::string WriteSolver(int max_iter, int snapshot, int hidden = 64) {
    const std::string net = dir_ / "net.prototxt";
    std::ofstream n(net);
    for (const char *phase : {"TRAIN", "TEST"}) {
      n << "layer { name: \"mnist\" type: \"Data\" top: \"data\" top: "
           "\"label\" include { phase: "
        << phase << " } transform_param { scale: 0.00390625 } data_param { source: \""
        << (*data_ / "mnist_lmdb") << "\" batch_size: " << (phase[1] == 'R' ? 16 : 100)
        << " backend: LMDB } }\n";
    }
    n << "layer { name: \"ip1\" type: \"InnerProduct\" bottom: \"data\" top: "
         "\"ip1\" "
         "inner_product_param { num_output: "
      << hidden
      << " weight_filler { type: \"xavier\" } } }\n"
         "layer { name: \"relu1\" type: \"ReLU\" bottom: \"ip1\" top: \"ip1\" "
         "}\n"
         "layer { name: \"ip2\" type: \"InnerProduct\" bottom: \"ip1\" top: "
         "\"ip2\" "
         "inner_product_param { num_output: 10 weight_filler { type: "
         "\"xavier\" } } }\n"
         "layer { name: \"accuracy\" type: \"Accuracy\" bottom: \"ip2\" "
         "bottom: \"label\" "
         "top: \"accuracy\" include { phase: TEST } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip2\" "
         "bottom: \"label\" "
         "top: \"loss\" }\n";
    n.close();
    const std::string solver = dir_ / "solver.prototxt";
    std::ofstream s(solver);
    s << "net: \"" << net << "\"\ntest_iter: 3\ntest_interval: 100000\nbase_lr: 0.05\n"
      << "momentum: 0.9\nlr_policy: \"fixed\"\ndisplay: 0\nmax_iter: " << max_iter
      << "\nsnapshot: " << snapshot << "\nsnapshot_prefix: \"" << (dir_ / "mlp")
      << "\"\nrandom_seed: 1\nsolver_mode: CPU\n";
    return solver;
  }

  // Runs the tool with args in the background, output to log.
  pid_t Spawn(const std::vector<std::string> &args, const std::string &log) {
    // Built before fork: the child of a process with threads may not
    // allocate until execv (a lock held at the fork stays held).
    const std::string tool = ToolPath();
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>(tool.c_str()));
    for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char **e = environ; *e; ++e) {
      if (std::string(*e).rfind("OPENBLAS_NUM_THREADS=", 0) != 0) env_strings.push_back(*e);
    }
    env_strings.push_back("OPENBLAS_NUM_THREADS=1");
    std::vector<char *> envp;
    for (auto &e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << log;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      execve(tool.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    close(fd);
    pids_.push_back(pid);
    return pid;
  }
  // Waits for pid to exit; its exit status, or -1 on timeout.
  static int WaitExit(pid_t pid, double seconds) {
    int status = 0;
    bool exited = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds);
    if (!exited) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  static bool Contains(const std::string &path, const std::string &text) {
    return ReadAll(path).find(text) != std::string::npos;
  }
  // The accuracy `deepspark test` reports for a model.
  double TestAccuracy(const std::string &caffemodel) {
    const std::string log = dir_ / "test.log";
    pid_t pid = Spawn({"test", "--model=" + (dir_ / "net.prototxt"), "--weights=" + caffemodel,
                       "--iterations=5", "--threads=1"},
                      log);
    EXPECT_EQ(WaitExit(pid, kHangGuardS), 0) << ReadAll(log);
    std::smatch m;
    const std::string text = ReadAll(log);
    const std::regex re("accuracy = ([0-9.eE+-]+)");
    if (!std::regex_search(text, m, re)) {
      ADD_FAILURE() << "no accuracy in: " << text;
      return -1;
    }
    return std::stod(m[1]);
  }

  static TempDir *data_;
  TempDir dir_;
  std::vector<pid_t> pids_;
};
TempDir *DistProcessTest::data_ = nullptr;

TEST_F(DistProcessTest, LocalJobTrainsTheCenter) {
  const std::string solver = WriteSolver(200, 0);
  const std::string log = dir_ / "train.log";
  pid_t train = Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1"}, log);
  ASSERT_EQ(WaitExit(train, kHangGuardS), 0) << ReadAll(log);
  const std::string model = dir_ / "mlp_iter_200.caffemodel";
  ASSERT_TRUE(std::filesystem::exists(model)) << ReadAll(log);
  EXPECT_TRUE(Contains(log, "center saved to")) << ReadAll(log);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mlp_job/worker_0.log"));
  const double accuracy = TestAccuracy(model);
  EXPECT_GT(accuracy, 0.7);
  // The result file says the same, for programs.
  std::ifstream in(dir_ / "mlp_result.json");
  ASSERT_TRUE(in.good()) << ReadAll(log);
  const nlohmann::json result = nlohmann::json::parse(in);
  EXPECT_TRUE(result["ok"].get<bool>());
  EXPECT_EQ(result["center_iter"].get<int>(), 200);
  EXPECT_EQ(result["caffemodel"].get<std::string>(), model);
  ASSERT_EQ(result["workers"].size(), 2u);
  for (const auto &w : result["workers"]) EXPECT_EQ(w["status"], "finished");
  bool has_accuracy = false;
  for (const auto &score : result["scores"]) has_accuracy |= score["name"] == "accuracy";
  EXPECT_TRUE(has_accuracy) << result.dump();
  // Every metrics line is a JSON object; the joins and the end are there.
  std::ifstream metrics(dir_ / "mlp_metrics.jsonl");
  std::string line;
  int joins = 0, ends = 0, lines = 0;
  while (std::getline(metrics, line)) {
    const nlohmann::json m = nlohmann::json::parse(line);  // throws on a malformed line
    ASSERT_TRUE(m.is_object()) << line;
    ++lines;
    joins += m.value("event", "") == "join";
    ends += m.value("event", "") == "end";
  }
  EXPECT_GT(lines, 3);
  EXPECT_EQ(joins, 2);
  EXPECT_EQ(ends, 1);
}

// `train --workers 2 --gpu=all`: worker i trains on GPU i mod the count
// and the center learns; without a GPU the job refuses before it starts
// anything, saying why.
TEST_F(DistProcessTest, GpuWorkersTakeTheirRankModTheDevices) {
  const std::string solver = WriteSolver(200, 0);
  const std::string log = dir_ / "train.log";
  pid_t train =
      Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1", "--gpu=all"}, log);
  const int status = WaitExit(train, kHangGuardS);
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  if (count == 0) {
    EXPECT_NE(status, 0);
    EXPECT_TRUE(Contains(log, "--gpu=all: no CUDA device")) << ReadAll(log);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "mlp_job")) << "started before the check";
    return;
  }
  ASSERT_EQ(status, 0) << ReadAll(log);
  for (int rank = 0; rank < 2; ++rank) {
    const std::string worker_log = dir_ / ("mlp_job/worker_" + std::to_string(rank) + ".log");
    EXPECT_TRUE(Contains(worker_log, "trains on GPU " + std::to_string(rank % count)))
        << ReadAll(worker_log);
  }
  EXPECT_GT(TestAccuracy(dir_ / "mlp_iter_200.caffemodel"), 0.7);
}

TEST_F(DistProcessTest, WorkerThatFailsFailsTheJobNamingIt) {
  const std::string solver = WriteSolver(200, 0);
  const std::string log = dir_ / "train.log";
  // Rank 1 stops with an error after 5 iterations (fault injection); the
  // job goes on with rank 0, then reports the failure and exits non-zero.
  pid_t train = Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1",
                       "--heartbeat-timeout-ms=2000", "--fail-rank=1", "--fail-after=5"},
                      log);
  EXPECT_NE(WaitExit(train, kHangGuardS), 0) << ReadAll(log);
  const std::string text = ReadAll(log);
  EXPECT_NE(text.find("the job's workers failed: worker 1 (pid"), std::string::npos) << text;
  EXPECT_NE(text.find("exited with code 1"), std::string::npos) << text;
  EXPECT_NE(text.find("fault injection (--fail-rank): rank 1"), std::string::npos) << text;
  // Rank 0 finished cleanly and is not blamed.
  EXPECT_EQ(text.find("failed: worker 0"), std::string::npos) << text;
  EXPECT_EQ(text.find("; worker 0"), std::string::npos) << text;
  std::ifstream in(dir_ / "mlp_result.json");
  ASSERT_TRUE(in.good()) << text;
  const nlohmann::json result = nlohmann::json::parse(in);
  EXPECT_FALSE(result["ok"].get<bool>());
  ASSERT_EQ(result["workers"].size(), 2u);
  EXPECT_EQ(result["workers"][0]["status"], "finished");
  EXPECT_EQ(result["workers"][1]["status"], "failed");
  EXPECT_EQ(result["workers"][1]["exit_code"], 1);
  EXPECT_NE(result["workers"][1]["error"].get<std::string>().find("fault injection"),
            std::string::npos);
}

// The processes whose parent is `parent`, from /proc (running ones only).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent && state != 'Z') children.push_back(std::stoi(name));
  }
  return children;
}

bool Running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in.good()) return false;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// `train --workers` killed outright (SIGKILL: no handler runs): its worker
// processes die with it rather than training on as orphans.
TEST_F(DistProcessTest, WorkersDieWithTheirTrainProcess) {
  const std::string solver = WriteSolver(100000, 0);
  const std::string log = dir_ / "train.log";
  pid_t train = Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1"}, log);
  std::vector<pid_t> workers;
  ASSERT_TRUE(WaitFor(
      [&] {
        workers = ChildrenOf(train);
        return workers.size() == 2 && Contains(dir_ / "mlp_job/worker_1.log", "joined");
      },
      kHangGuardS))
      << ReadAll(log);
  ASSERT_EQ(kill(train, SIGKILL), 0);
  EXPECT_EQ(WaitExit(train, 30), 128 + SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !Running(workers[0]) && !Running(workers[1]); }, 30))
      << "workers " << workers[0] << ", " << workers[1] << " outlived their train process";
  for (pid_t w : workers) {
    if (Running(w)) kill(w, SIGKILL);
  }
}

// The center over the server and two shard-server processes
// (--shard-servers): the job trains as in one process, and the shard servers
// end with it.
TEST_F(DistProcessTest, LocalJobWithShardServersTrainsTheCenter) {
  const std::string solver = WriteSolver(200, 0);
  const std::string log = dir_ / "train.log";
  pid_t train = Spawn(
      {"train", "--solver=" + solver, "--workers=2", "--threads=1", "--shard-servers=2"}, log);
  ASSERT_EQ(WaitExit(train, kHangGuardS), 0) << ReadAll(log);
  EXPECT_TRUE(Contains(log, "All 2 shard servers ready")) << ReadAll(log);
  for (const char *name : {"mlp_job/shard_server_1.log", "mlp_job/shard_server_2.log"}) {
    EXPECT_TRUE(Contains(dir_ / name, "the job is over (center iteration 200"))
        << ReadAll(dir_ / name);
  }
  EXPECT_GT(TestAccuracy(dir_ / "mlp_iter_200.caffemodel"), 0.7);
}

// A shard server killed mid-job: its part of the center is gone, so the job
// ends with an error naming it, and no process is left behind.
TEST_F(DistProcessTest, KilledShardServerEndsTheJobWithAnError) {
  const std::string solver = WriteSolver(100000, 0);
  const std::string log = dir_ / "train.log";
  pid_t train = Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1",
                       "--shard-servers=1", "--heartbeat-timeout-ms=2000"},
                      log);
  ASSERT_TRUE(
      WaitFor([&] { return Contains(dir_ / "mlp_job/worker_1.log", "joined"); }, kHangGuardS))
      << ReadAll(log);
  pid_t shard_server = -1;
  for (pid_t child : ChildrenOf(train)) {
    if (ReadAll("/proc/" + std::to_string(child) + "/cmdline").find("shard-server") !=
        std::string::npos) {
      shard_server = child;
    }
  }
  ASSERT_GT(shard_server, 0) << "no shard-server child of " << train;
  const std::vector<pid_t> children = ChildrenOf(train);
  ASSERT_EQ(kill(shard_server, SIGKILL), 0);
  EXPECT_EQ(WaitExit(train, kHangGuardS), 1) << ReadAll(log);
  const std::string text = ReadAll(log);
  EXPECT_NE(text.find("shard server 1 (pid " + std::to_string(shard_server)), std::string::npos)
      << text;
  EXPECT_NE(text.find("of the center are lost"), std::string::npos) << text;
  EXPECT_TRUE(WaitFor(
      [&] {
        for (pid_t c : children) {
          if (Running(c)) return false;
        }
        return true;
      },
      30))
      << "a worker outlived the failed job";
}

TEST_F(DistProcessTest, KilledWorkerIsDroppedAndRejoins) {
  const std::string solver = WriteSolver(200, 0);
  const std::string log = dir_ / "train.log";
  // Rank 1 is slowed down so that it is surely killed halfway.
  pid_t train = Spawn({"train", "--solver=" + solver, "--workers=2", "--threads=1",
                       "--heartbeat-timeout-ms=2000", "--slow-rank=1", "--slow-delay-ms=25"},
                      log);
  std::smatch m;
  std::string text;
  const std::regex started("Started worker 1 \\(pid ([0-9]+)\\)");
  ASSERT_TRUE(WaitFor(
      [&] {
        text = ReadAll(log);
        return std::regex_search(text, m, started);
      },
      20))
      << text;
  const pid_t worker1 = std::stoi(m[1]);
  const std::regex listening("listening on (tcp://127\\.0\\.0\\.1:[0-9]+)");
  ASSERT_TRUE(std::regex_search(text, m, listening)) << text;
  const std::string endpoint = m[1];
  ASSERT_TRUE(WaitFor([&] { return Contains(log, "Worker 1 joined"); }, 20)) << ReadAll(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // ~60 of 200 iterations
  ASSERT_EQ(kill(worker1, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return Contains(log, "Worker 1 silent"); }, 15)) << ReadAll(log);
  // The same worker command again: it takes rank 1 back.
  pid_t again = Spawn({"worker", "--server=" + endpoint, "--key-file=" + (dir_ / "mlp_job/job.key"),
                       "--rank=1", "--threads=1"},
                      dir_ / "worker_again.log");
  ASSERT_TRUE(WaitFor([&] { return Contains(log, "Worker 1 rejoined"); }, 15)) << ReadAll(log);
  EXPECT_EQ(WaitExit(again, kHangGuardS), 0) << ReadAll(dir_ / "worker_again.log");
  ASSERT_EQ(WaitExit(train, kHangGuardS), 0) << ReadAll(log);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mlp_iter_200.caffemodel")) << ReadAll(log);
}

TEST_F(DistProcessTest, KilledServerResumesFromItsSnapshot) {
  const std::string solver = WriteSolver(1000, 100, 1024);
  const std::string key = dir_ / "job.key";
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const std::string endpoint_file = dir_ / "endpoint";
  const std::vector<std::string> server_args = {"server",
                                                "--solver=" + solver,
                                                "--listen=" + listen,
                                                "--workers=2",
                                                "--key-file=" + key,
                                                "--heartbeat-timeout-ms=2000",
                                                "--endpoint-file=" + endpoint_file};
  const std::string log1 = dir_ / "server1.log";
  pid_t server = Spawn(server_args, log1);
  // The endpoint file appears, whole, once the server listens.
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(endpoint_file); }, 20)) << ReadAll(log1);
  EXPECT_EQ(ReadAll(endpoint_file), listen + "\n");
  for (int r = 0; r < 2; ++r) {
    Spawn({"worker", "--server=" + listen, "--key-file=" + key, "--rank=" + std::to_string(r),
           "--threads=1", "--rejoin-timeout=60"},
          dir_ / ("worker_" + std::to_string(r) + ".log"));
  }
  // The first snapshot of the center, then the server dies.
  std::string state;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto &entry : std::filesystem::directory_iterator(dir_.path())) {
          const std::string name = entry.path().string();
          if (name.size() > 12 && name.substr(name.size() - 12) == ".serverstate") state = name;
        }
        return !state.empty();
      },
      30))
      << ReadAll(log1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(kill(server, SIGKILL), 0);
  waitpid(server, nullptr, 0);
  const std::string log2 = dir_ / "server2.log";
  std::vector<std::string> resume = server_args;
  resume.push_back("--snapshot=" + state);
  server = Spawn(resume, log2);
  ASSERT_TRUE(WaitFor([&] { return Contains(log2, "Resuming the center"); }, 20)) << ReadAll(log2);
  ASSERT_EQ(WaitExit(server, kHangGuardS), 0) << ReadAll(log2);
  const std::string text = ReadAll(log2);
  // The new server has not seen them before, so it logs "joined", at the
  // snapshot's iteration or later.
  EXPECT_NE(text.find("Worker 0 joined"), std::string::npos) << text;
  EXPECT_NE(text.find("Worker 1 joined"), std::string::npos) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("center saved to (\\S+)"))) << text;
  EXPECT_TRUE(std::filesystem::exists(std::string(m[1])));
  for (size_t i = 1; i < pids_.size(); ++i) {
    if (pids_[i] != server) {
      EXPECT_EQ(WaitExit(pids_[i], 60), 0);
    }
  }
}

}  // namespace
}  // namespace deepspark
