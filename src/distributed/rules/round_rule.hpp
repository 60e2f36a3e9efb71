// The server half shared by the synchronous rules: a round collects one
// SYNC of every live member, then CompleteRound computes the center's new
// value and everyone's answer, and every member is answered at once.
//
// A member dropped while the round is open no longer holds it up (the round
// completes on the membership change) but its contribution, if in, counts.
// A member that rejoined (a new session) and sends again replaces its
// earlier contribution, whose request will never be answered.
// Not a public header: only rules include it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/distributed/exchange_rule.hpp"

namespace deepspark {
namespace distributed {

class RoundRule : public ExchangeRule {
 public:
  void OnRequest(ShardState& shard, const ShardRequest& request) override {
    if (request.kind != Kind::SYNC) return OnOtherRequest(shard, request);
    Contribution& c = round_[request.rank];
    c.request = request;
    c.request.tensor = nullptr;  // not ours to keep
    c.tensor.assign(request.tensor, request.tensor + request.count);
    MaybeComplete(shard);
  }
  void OnMembershipChange(ShardState& shard) override { MaybeComplete(shard); }

 protected:
  // The round of k contributions whose sum is `sum` is complete: update the
  // center (shard.center(), and BumpVersion if it changed) and return what
  // every member gets back.
  virtual std::vector<float> CompleteRound(ShardState& shard, const std::vector<float>& sum,
                                           int k) = 0;
  // Anything but SYNC; the default refuses it.
  virtual void OnOtherRequest(ShardState& shard, const ShardRequest& request) {
    (void)shard;
    throw ProtocolError(std::string("this rule takes SYNC, not ") + KindName(request.kind));
  }

 private:
  struct Contribution {
    ShardRequest request;
    std::vector<float> tensor;
  };
  void MaybeComplete(ShardState& shard) {
    if (round_.empty()) return;
    for (int rank : shard.live()) {
      if (!round_.count(rank)) return;  // still waiting for a live worker
    }
    std::vector<float> sum(shard.size(), 0.f);
    for (const auto& entry : round_) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += entry.second.tensor[i];
    }
    auto result = std::make_shared<const std::vector<float>>(
        CompleteRound(shard, sum, static_cast<int>(round_.size())));
    for (const auto& entry : round_) {
      shard.Answer(entry.second.request, Kind::SYNC_RESULT, shard.version(), result);
    }
    round_.clear();
  }

  std::map<int, Contribution> round_;  // the open round, by rank
};

}  // namespace distributed
}  // namespace deepspark
