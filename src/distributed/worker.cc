#include "deepspark/distributed/worker.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "deepspark/db.hpp"
#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/exchange_rule.hpp"
#include "deepspark/distributed/job.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/solver_factory.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;

// What the heartbeat thread reports; written by the training thread.
struct SharedMetrics {
  std::mutex mutex;
  pb::WorkerMetrics metrics;
};

// Runs the job's exchange rule from the solver's callbacks: gradients
// every iteration (rules that want them), parameters every tau iterations.
// The training thread only.
class ExchangeCallback : public Solver<float>::Callback {
 public:
  ExchangeCallback(Solver<float>* solver, ParamClient* client, float* flat, int64_t count,
                   SharedMetrics* shared, std::atomic<bool>* stop, int batch_size)
      : solver_(solver),
        client_(client),
        rule_(NewExchangeRule(client->spec().rule())),
        x_(flat),
        count_(count),
        shared_(shared),
        stop_(stop),
        batch_size_(batch_size),
        start_(Clock::now()),
        start_iter_(solver->iter()) {
    const pb::JobSpec& spec = client_->spec();
    tau_ = spec.tau();
    if (rule_->exchanges_gradients()) grad_.assign(count, 0.f);
    slow_us_ = spec.slow_rank() == spec.rank() ? spec.slow_delay_us() : 0;
    fail_after_ = spec.fail_rank() == spec.rank() ? spec.fail_after() : -1;
  }

  void on_gradients_ready() override {
    if (!rule_->exchanges_gradients()) return;
    // Called before the update: the exchange completes iteration iter() + 1.
    client_->set_iter(solver_->iter() + 1);
    int64_t offset = 0;
    for (Blob<float>* blob : solver_->net()->learnable_params()) {
      std::memcpy(grad_.data() + offset, blob->cpu_diff(), blob->count() * sizeof(float));
      offset += blob->count();
    }
    RequireFinite(grad_.data(), "gradients", solver_->iter() + 1);
    rule_->ExchangeGradients(*client_, grad_.data());
    offset = 0;
    for (Blob<float>* blob : solver_->net()->learnable_params()) {
      std::memcpy(blob->mutable_cpu_diff(), grad_.data() + offset, blob->count() * sizeof(float));
      offset += blob->count();
    }
  }

  void on_iteration_end(int iter) override {
    if (slow_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(slow_us_));
    REQUIRE(fail_after_ < 0 || iter - start_iter_ < fail_after_)
        << "fault injection (--fail-rank): rank " << client_->spec().rank() << " stops after "
        << fail_after_ << " iterations";
    if (iter % tau_ == 0) Exchange(iter);
    Publish(iter, false);
    if (*stop_) solver_->RequestStop();
  }

  // A diverged worker stops with a clear error instead of pushing NaN or Inf
  // towards the center (whose shards would refuse them anyway).
  void RequireFinite(const float* values, const char* what, int iter) const {
    const int64_t bad = FirstNonFinite(values, static_cast<size_t>(count_));
    REQUIRE(bad < 0) << "worker " << client_->spec().rank() << ": its " << what
                     << " became non-finite at iteration " << iter << " (float " << bad << " is "
                     << (bad < 0 ? 0.f : values[bad])
                     << "): training diverged; nothing was sent to the center";
  }

  void Exchange(int iter) {
    // On a GPU the parameters were updated on the device: bring them into
    // the flat host buffer (their host memory) for the rule, and mark that
    // buffer as the newer side afterwards, so the next step copies the
    // exchanged values back. On the CPU both are no-ops.
    const auto& params = solver_->net()->learnable_params();
    for (Blob<float>* blob : params) blob->cpu_data();
    RequireFinite(x_, "parameters", iter);
    const auto start = Clock::now();
    client_->set_iter(iter);
    const pb::JobSpec& spec = client_->spec();
    const pb::DeepSparkParam& sched = spec.schedule();
    ExchangeRates rates;
    rates.alpha = DecayedRate(spec.moving_rate(), sched.decay_rate(), sched.decay_step(),
                              sched.decay_limit(), iter);
    rates.factor = DecayedRate(sched.server_factor(), sched.factor_decay_rate(),
                               sched.factor_decay_step(), sched.factor_decay_limit(), iter);
    rule_->Exchange(*client_, x_, rates);
    for (Blob<float>* blob : params) blob->mutable_cpu_data();
    client_->CountExchange(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }

  void Publish(int iter, bool done) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const ClientStats& stats = client_->stats();
    std::lock_guard<std::mutex> lock(shared_->mutex);
    pb::WorkerMetrics& m = shared_->metrics;
    m.set_rank(client_->rank());
    m.set_iter(iter);
    m.set_loss(solver_->smoothed_loss());
    m.set_images_per_sec(seconds > 0 ? (iter - start_iter_) * batch_size_ / seconds : 0);
    m.set_exchange_ms(stats.exchanges ? stats.exchange_ms_total / stats.exchanges : 0);
    m.set_staleness(stats.exchanges ? stats.staleness_total / stats.exchanges : 0);
    m.set_bytes_sent(stats.bytes_sent);
    m.set_bytes_received(stats.bytes_received);
    m.set_exchanges(stats.exchanges);
    m.set_done(done);
  }

 private:
  Solver<float>* solver_;
  ParamClient* client_;
  std::unique_ptr<ExchangeRule> rule_;
  float* x_;
  int64_t count_;
  SharedMetrics* shared_;
  std::atomic<bool>* stop_;
  int batch_size_;
  Clock::time_point start_;
  int start_iter_;
  int tau_;
  int64_t slow_us_ = 0;
  int fail_after_ = -1;  // fault injection: iterations before this worker errors out
  std::vector<float> grad_;
};

int TrainBatchSize(const Net<float>& net) {
  for (const auto& layer : net.layers()) {
    const auto& p = layer->layer_param();
    if (p.has_data_param()) return p.data_param().batch_size();
    if (p.has_memory_data_param()) return p.memory_data_param().batch_size();
  }
  return net.input_blobs().empty() || net.input_blobs()[0]->num_axes() == 0
             ? 1
             : net.input_blobs()[0]->shape(0);
}
// The heartbeat thread's loop: every 500 ms (or when training finished)
// sends this worker's metrics; a reply that says "not a member" asks the
// client to rejoin, one that says "stop" stops the training.
void RunHeartbeats(const std::string& endpoint, int rank, SharedMetrics& shared,
                   ParamClient& client, std::atomic<bool>* stop, std::atomic<bool>* finished,
                   std::mutex* wake_mutex, std::condition_variable* wake) {
  HeartbeatClient hb(endpoint, client.transport(), rank);
  while (!*finished) {
    pb::WorkerMetrics metrics;
    {
      std::lock_guard<std::mutex> lock(shared.mutex);
      metrics = shared.metrics;
    }
    pb::ControlReply reply;
    // Shorter than the interval: a lost answer must not hold up the next
    // heartbeat, or a lossy network would have the server drop this worker.
    const HeartbeatClient::Outcome outcome = hb.Send(metrics, client.session(), &reply, 400);
    if (outcome == HeartbeatClient::Outcome::NOT_MEMBER) client.RequestRejoin();
    if (outcome == HeartbeatClient::Outcome::OK && reply.stop()) *stop = true;
    std::unique_lock<std::mutex> lock(*wake_mutex);
    wake->wait_for(lock, std::chrono::milliseconds(500), [&] { return finished->load(); });
  }
}

}  // namespace

int WorkerGpu(const std::string& flag, bool solver_wants_gpu, int rank) {
  CHECK(rank >= 0);
  // A CPU worker never asks for the devices: the query starts CUDA's runtime
  // and driver, which every CPU worker (and Spark task) would pay for.
  if (flag.empty() && !solver_wants_gpu) return -1;
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  if (flag.empty()) return count > 0 ? rank % count : -1;
  const std::vector<int> ids = ParseGpuIds(flag, count, why);
  return ids[rank % ids.size()];
}

int RunWorker(const WorkerOptions& options) {
  REQUIRE(!options.server.empty()) << "worker needs --server (the job's address)";
  SetNumThreads(options.threads);
  std::string endpoint = options.server;
  if (endpoint.find("://") == std::string::npos) endpoint = "tcp://" + endpoint;
  // The key is the ZeroMQ transport's; a given transport needs none.
  JobKey key = options.transport ? JobKey() : LoadJobKey(options.key_file);
  int requested_rank = options.rank;
  // Under mpirun or srun the launcher's rank is taken (processes only: the
  // exchange itself stays ours).
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"}) {
    const char* value = std::getenv(name);
    if (requested_rank < 0 && value && *value) requested_rank = std::atoi(value);
  }
  ParamClient client(
      endpoint, key, requested_rank, options.rejoin_timeout_s,
      options.transport ? options.transport : MakeZmqTransport(key, options.source_address));
  const pb::JobSpec spec = client.Join();
  const int rank = spec.rank();
  LOG(INFO) << "Worker " << rank << " of " << spec.num_workers() << " joined " << endpoint;

  caffe::SolverParameter param;
  REQUIRE(param.ParseFromString(spec.solver())) << "the server sent a malformed solver";
  // The server tests and snapshots the center; a worker only trains.
  param.clear_test_iter();
  param.clear_test_net_param();
  param.clear_test_state();
  param.set_test_interval(0);
  param.set_snapshot(0);
  param.set_snapshot_after_train(false);
  if (!options.train_source.empty()) {
    if (param.has_net_param())
      SetDataSource(param.mutable_net_param(), caffe::TRAIN, options.train_source);
    if (param.has_train_net_param()) {
      SetDataSource(param.mutable_train_net_param(), caffe::TRAIN, options.train_source);
    }
  }
  // Worker i of N reads items i, i+N, ... reshuffled each epoch from the
  // job seed (with the partition given, a local source is read whole).
  caffe::DataPartitionParameter partition;
  partition.set_shuffle(true);
  if (options.train_source.empty()) {
    partition.set_rank(rank);
    partition.set_num_ranks(spec.num_workers());
    partition.set_shuffle_seed(spec.seed());
  } else {
    partition.set_shuffle_seed(spec.seed() + rank);
  }
  if (param.has_net_param()) SetDataPartition(param.mutable_net_param(), caffe::TRAIN, partition);
  if (param.has_train_net_param()) {
    SetDataPartition(param.mutable_train_net_param(), caffe::TRAIN, partition);
  }
  param.set_base_lr(param.base_lr() * spec.lr_scale());
  // The device before the solver: its net's blobs are then made where
  // they are used. This thread runs the steps; the heartbeat thread only
  // talks to the server.
  const int device =
      WorkerGpu(options.gpu, param.solver_mode() == caffe::SolverParameter::GPU, rank);
  if (device >= 0) {
    Gpu().SetDevice(device);
    SetComputeMode(ComputeMode::kGpu);
    LOG(INFO) << "Worker " << rank << " trains on GPU " << device << " ("
              << Gpu().Properties(device).name << ")";
  } else if (param.solver_mode() == caffe::SolverParameter::GPU) {
    std::string why;
    Gpu().DeviceCount(&why);
    LOG(WARNING) << "Worker " << rank << ": solver_mode is GPU but there is no GPU here (" << why
                 << "); training on the CPU";
  }
  std::unique_ptr<Solver<float>> solver = CreateSolver<float>(param);
  solver->set_lr_schedule_scale(spec.lr_schedule_scale());
  if (spec.lr_scale() != 1.f || spec.lr_schedule_scale() != 1.f) {
    LOG(INFO) << "Worker " << rank << ": base_lr " << param.base_lr() << " (x" << spec.lr_scale()
              << "), " << param.lr_policy() << " policy at iteration x" << spec.lr_schedule_scale();
  }

  // All learnable parameters in one flat buffer (net order), so exchanges
  // read and write them in place and send them without copies.
  const auto& params = solver->net()->learnable_params();
  int64_t count = 0;
  for (Blob<float>* blob : params) count += blob->count();
  REQUIRE(count == spec.param_count())
      << "the worker's net has " << count << " parameters but the server's center has "
      << spec.param_count() << ": the solver or net differ";
  std::vector<float> flat(count);
  int64_t offset = 0;
  for (Blob<float>* blob : params) {
    blob->set_cpu_data(flat.data() + offset);
    offset += blob->count();
  }
  client.PullCenter(flat.data());
  if (spec.start_iter() > 0) {
    solver->set_iter(spec.start_iter());
    solver->net()->SeekData(static_cast<uint64_t>(spec.start_iter()) * param.iter_size());
  }

  SharedMetrics shared;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  ExchangeCallback callback(solver.get(), &client, flat.data(), count, &shared, &stop,
                            TrainBatchSize(*solver->net()));
  solver->add_callback(&callback);
  callback.Publish(solver->iter(), false);
  std::mutex wake_mutex;
  std::condition_variable wake;
  // An exception in the heartbeat thread stops the training and fails the
  // worker with its message (it would otherwise end the process with
  // std::terminate).
  std::string heartbeat_error;
  std::thread heartbeat([&] {
    try {
      RunHeartbeats(endpoint, rank, shared, client, &stop, &finished, &wake_mutex, &wake);
    } catch (const std::exception& e) {
      heartbeat_error = e.what();
      stop = true;
    }
  });
  int exit_code = 0;
  try {
    if (solver->iter() < param.max_iter()) solver->Step(param.max_iter() - solver->iter());
    // The last stretch since the previous exchange reaches the center too.
    // (Not when the server said stop: it no longer waits for it.)
    if (!stop && solver->iter() % spec.tau() != 0) callback.Exchange(solver->iter());
  } catch (const std::exception& e) {
    // deepspark::Error (bad data, a lost server) or anything else the step
    // threw (std::bad_alloc): the worker fails with the message.
    LOG(ERROR) << "worker " << rank << ": " << e.what();
    exit_code = 1;
  }
  finished = true;
  wake.notify_all();
  heartbeat.join();
  if (!heartbeat_error.empty()) {
    LOG(ERROR) << "worker " << rank << ": heartbeat thread failed: " << heartbeat_error;
    exit_code = 1;
  }
  if (exit_code == 0) {
    callback.Publish(solver->iter(), true);
    HeartbeatClient hb(endpoint, client.transport(), rank);
    pb::WorkerMetrics metrics;
    {
      std::lock_guard<std::mutex> lock(shared.mutex);
      metrics = shared.metrics;
    }
    pb::ControlReply reply;
    for (int attempt = 0; attempt < 5 && hb.Send(metrics, client.session(), &reply) ==
                                             HeartbeatClient::Outcome::NO_ANSWER;
         ++attempt) {
    }
    LOG(INFO) << "Worker " << rank << " done at iteration " << solver->iter();
  }
  return exit_code;
}

}  // namespace distributed
}  // namespace deepspark
