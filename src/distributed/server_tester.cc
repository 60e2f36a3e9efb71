// The parameter server's tester: pulls the center like a worker (so it needs
// no lock), runs the solver's test nets on it every test_interval of the
// center's iteration, and writes snapshots of it.
#include <zmq.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "deepspark/io.hpp"
#include "server_internal.hpp"

namespace deepspark {
namespace distributed {
namespace {
using Clock = std::chrono::steady_clock;
}

std::vector<float> ParameterServer::Impl::PullCenterCopy() {
  std::vector<float> flat(param_count);
  std::vector<std::unique_ptr<Socket>> sockets;
  for (auto& shard : shards) {
    sockets.emplace_back(new Socket(ZMQ_DEALER));
    sockets.back()->SetCurveClient(opt->key);
    sockets.back()->Connect(shard->endpoint);
  }
  for (size_t s = 0; s < shards.size(); ++s) {
    Header header;
    header.kind = static_cast<uint16_t>(Kind::PULL);
    header.rank = kTesterRank;
    header.shard = static_cast<int32_t>(s);
    sockets[s]->Send({{&header, sizeof(header), false}});
  }
  for (size_t s = 0; s < shards.size(); ++s) {
    std::vector<std::string> frames;
    Header header;
    // The shards are in this process; they answer unless shutting down.
    bool got = false;
    while (!got && !shutting_down) got = sockets[s]->Receive(&frames, 1000);
    REQUIRE(got) << "the server is shutting down";
    REQUIRE(frames.size() == 2 &&
            ValidateHeader(frames[0].data(), frames[0].size(), &header).empty() &&
            header.kind == static_cast<uint16_t>(Kind::CENTER))
        << "tester: bad reply from shard " << s;
    const int64_t begin = shards[s]->begin;
    const int64_t end = s + 1 < shards.size() ? shards[s + 1]->begin : param_count;
    REQUIRE(static_cast<int64_t>(frames[1].size()) == (end - begin) * 4) << "tester: shard size";
    std::memcpy(flat.data() + begin, frames[1].data(), frames[1].size());
  }
  return flat;
}

void ParameterServer::Impl::LoadCenterIntoModel(const std::vector<float>& flat) {
  // A diverged center (NaN) scores accuracy 1 in Caffe's Accuracy layer
  // (no class beats a NaN score): say so, and never count it as a target.
  center_finite = std::all_of(flat.begin(), flat.end(), [](float v) { return std::isfinite(v); });
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
    std::vector<double> sums;
    double loss = 0;
    const int test_iter = solver.test_iter(i);
    for (int k = 0; k < test_iter; ++k) {
      float iter_loss = 0;
      const auto& result = net.Forward(&iter_loss);
      loss += iter_loss;
      size_t idx = 0;
      for (Blob<float>* blob : result) {
        for (int j = 0; j < blob->count(); ++j, ++idx) {
          if (sums.size() <= idx) sums.push_back(0);
          sums[idx] += blob->cpu_data()[j];
        }
      }
    }
    size_t idx = 0;
    int output_id = 0;
    for (size_t j = 0; j < net.output_blobs().size(); ++j) {
      const int blob_index = net.output_blob_indices()[j];
      for (int e = 0; e < net.output_blobs()[j]->count(); ++e, ++idx, ++output_id) {
        TestScore score;
        score.net_id = static_cast<int>(i);
        score.output_id = output_id;
        score.name = net.blob_names()[blob_index];
        score.value = sums[idx] / test_iter;
        score.loss_weight = net.blob_loss_weights()[blob_index];
        LOG(INFO) << "    Center test net output #" << output_id << ": " << score.name << " = "
                  << score.value;
        WriteMetricsLine({{"t", std::chrono::duration<double>(Clock::now() - start_time).count()},
                          {"center_iter", iter},
                          {"test_net", i},
                          {score.name, score.value}});
        all.push_back(score);
      }
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
  int next_test = test_interval > 0 ? (restored_iter / test_interval + 1) * test_interval : -1;
  int next_snapshot = snapshot > 0 ? (restored_iter / snapshot + 1) * snapshot : -1;
  ServerResult result;
  try {
    while (!shutting_down) {
      if (job_done) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int iter = owner->center_iter_;
      const bool test_due = next_test > 0 && iter >= next_test && !test_nets.empty();
      const bool snapshot_due = next_snapshot > 0 && iter >= next_snapshot;
      if (!test_due && !snapshot_due) continue;
      LoadCenterIntoModel(PullCenterCopy());
      if (test_due) {
        TestCenter(iter);
        while (next_test <= iter) next_test += test_interval;
      }
      if (snapshot_due) {
        SnapshotCenter(iter);
        while (next_snapshot <= iter) next_snapshot += snapshot;
      }
    }
    if (shutting_down) return;
    // The end of the job: the last test and snapshot of the center.
    const int iter = owner->center_iter_;
    LoadCenterIntoModel(PullCenterCopy());
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
                      {"rejected_messages", rejected_messages.load()}});
    result_promise.set_value(result);
  } catch (...) {
    result_promise.set_exception(std::current_exception());
  }
}

}  // namespace distributed
}  // namespace deepspark
