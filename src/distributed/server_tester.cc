// The parameter server's tester: pulls the center like a worker (so it needs
// no lock), runs the solver's test nets on it every test_interval of the
// center's iteration, and writes snapshots of it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/param_client.hpp"
#include "deepspark/io.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;
}

pb::JobSpec ParameterServer::Impl::TesterSpec() const {
  pb::JobSpec spec = spec_template;
  spec.set_rank(kTesterRank);
  spec.set_ticket(tester_ticket_);
  return spec;
}

bool ParameterServer::Impl::WaitForCenter() {
  while (!center_ready) {
    if (abandon_pulls || job_done) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::vector<float> ParameterServer::Impl::PullCenterCopy(ShardCaller* caller) {
  REQUIRE(WaitForCenter()) << "the job ended before every shard server was there";
  std::unique_ptr<ShardCaller> own;
  if (!caller) {
    own = std::make_unique<ShardCaller>(transport);
    own->Connect(TesterSpec(), control_endpoint);
    caller = own.get();
  }
  std::vector<float> flat(param_count);
  // The shards answer unless shutting down or a shard server was lost (or
  // the network, in tests, loses the messages: the call resends them).
  while (caller->Call(Kind::PULL, nullptr, flat.data(), nullptr, caller->GiveUpMs(Kind::PULL),
                      &abandon_pulls) != ShardCaller::Outcome::OK) {
    REQUIRE(!abandon_pulls) << "the server is shutting down or lost part of the center";
  }
  return flat;
}

void ParameterServer::Impl::LoadCenterIntoModel(const std::vector<float>& flat) {
  // A diverged center (NaN) scores accuracy 1 in Caffe's Accuracy layer
  // (no class beats a NaN score): say so, and never count it as a target.
  center_finite = FirstNonFinite(flat.data(), flat.size()) < 0;
  if (!center_finite) LOG(ERROR) << "the center has NaN or infinite values: training diverged";
  size_t offset = 0;
  for (Blob<float>* blob : model->learnable_params()) {
    std::memcpy(blob->mutable_cpu_data(), flat.data() + offset, blob->count() * sizeof(float));
    offset += blob->count();
  }
}

std::vector<TestScore> ParameterServer::Impl::TestCenter(int iter) {
  std::vector<TestScore> all;
  for (size_t i = 0; i < test_nets.size(); ++i) {
    LOG(INFO) << "Center iteration " << iter << ", Testing net (#" << i << ")";
    Net<float>& net = *test_nets[i];
    for (const TestScore& score :
         ScoreNet<float>(net, static_cast<int>(i), solver.test_iter(i), nullptr)) {
      LOG(INFO) << "    Center test net output #" << score.output_id << ": " << score.name << " = "
                << score.value;
      WriteMetricsLine({{"t", std::chrono::duration<double>(Clock::now() - start_time).count()},
                        {"center_iter", iter},
                        {"test_net", i},
                        {score.name, score.value}});
      all.push_back(score);
    }
  }
  if (opt->target_accuracy > 0 && !target.target_reached && center_finite) {
    for (const auto& score : all) {
      if (score.net_id == 0 && score.name == "accuracy" && score.value >= opt->target_accuracy) {
        target.target_reached = true;
        target.target_seconds = std::chrono::duration<double>(Clock::now() - start_time).count();
        target.target_center_iter = iter;
        target.target_worker_iters = total_worker_iters;
        LOG(INFO) << "Target accuracy " << opt->target_accuracy << " reached at center iteration "
                  << iter << " after " << target.target_seconds << " s and "
                  << target.target_worker_iters << " worker iterations";
        WriteMetricsLine({{"t", target.target_seconds},
                          {"event", "target"},
                          {"center_iter", iter},
                          {"worker_iters", target.target_worker_iters},
                          {"accuracy", score.value}});
        owner->stop_requested_ = true;
      }
    }
  }
  std::lock_guard<std::mutex> lock(scores_mutex);
  last_scores = all;
  return all;
}

std::string ParameterServer::Impl::SnapshotCenter(int iter) {
  if (snapshot_prefix.empty()) {
    LOG(WARNING) << "no snapshot_prefix: the center is not saved";
    return "";
  }
  const std::string model_file = snapshot_prefix + "_iter_" + std::to_string(iter) + ".caffemodel";
  caffe::NetParameter param;
  model->ToProto(&param, false);
  LOG(INFO) << "Snapshotting the center to " << model_file;
  WriteProtoToBinaryFile(param, model_file);
  caffe::SolverState state;
  state.set_iter(iter);
  state.set_learned_net(model_file);
  state.set_current_step(0);
  const std::string state_file = snapshot_prefix + "_iter_" + std::to_string(iter) + ".serverstate";
  WriteProtoToBinaryFile(state, state_file);
  return model_file;
}

void ParameterServer::Impl::TesterLoop() {
  const int test_interval = solver.test_interval();
  const int snapshot = solver.snapshot();
  // The next multiple of `every` after `iter`, in 64 bits: no loop, no
  // overflow, whatever iteration the center reports.
  auto next_after = [](int64_t iter, int every) -> int64_t {
    return every > 0 ? (iter / every + 1) * every : -1;
  };
  int64_t next_test = next_after(restored_iter, test_interval);
  int64_t next_snapshot = next_after(restored_iter, snapshot);
  tester_caller = std::make_unique<ShardCaller>(transport);
  ServerResult result;
  try {
    // The shard endpoints are all known once every shard server is there
    // (if the job ends first, the last pull below says so).
    if (WaitForCenter()) tester_caller->Connect(TesterSpec(), control_endpoint);
    while (!shutting_down) {
      if (job_done) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int iter = owner->center_iter_;
      const bool test_due = next_test > 0 && iter >= next_test && !test_nets.empty();
      const bool snapshot_due = next_snapshot > 0 && iter >= next_snapshot;
      if (!test_due && !snapshot_due) continue;
      LoadCenterIntoModel(PullCenterCopy(tester_caller.get()));
      if (test_due) {
        TestCenter(iter);
        next_test = next_after(iter, test_interval);
      }
      if (snapshot_due && !center_finite) {
        LOG(ERROR) << "no snapshot at iteration " << iter << ": the center is not finite";
        next_snapshot = next_after(iter, snapshot);
      } else if (snapshot_due) {
        SnapshotCenter(iter);
        next_snapshot = next_after(iter, snapshot);
      }
    }
    if (shutting_down) return;
    // The end of the job: the last test and snapshot of the center.
    const int iter = owner->center_iter_;
    LoadCenterIntoModel(PullCenterCopy(tester_caller.get()));
    // A center of NaN or Inf is no result: scores of it would look like one
    // ("accuracy = 1" from NaN comparisons) and its snapshot would be saved
    // as a model. The job fails instead; earlier snapshots stay as they are.
    REQUIRE(center_finite) << "the center holds NaN or infinite values at the end of the job "
                              "(iteration "
                           << iter << "): training diverged; no final snapshot was written";
    result.center_iter = iter;
    if (!test_nets.empty()) result.scores = TestCenter(iter);
    result.caffemodel = SnapshotCenter(iter);
    result.seconds = std::chrono::duration<double>(Clock::now() - start_time).count();
    result.total_worker_iters = total_worker_iters;
    result.target_reached = target.target_reached;
    result.target_seconds = target.target_seconds;
    result.target_center_iter = target.target_center_iter;
    result.target_worker_iters = target.target_worker_iters;
    WriteMetricsLine({{"t", result.seconds},
                      {"event", "end"},
                      {"center_iter", iter},
                      {"worker_iters", result.total_worker_iters},
                      {"rejected_messages", rejected_messages.load()},
                      {"duplicate_requests", duplicate_requests.load()}});
    result_promise.set_value(result);
  } catch (...) {
    result_promise.set_exception(std::current_exception());
  }
}

}  // namespace distributed
}  // namespace deepspark
