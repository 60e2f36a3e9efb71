// sync-sgd: synchronous SGD, Caffe's multi-GPU way: one model, the gradient
// averaged over all live workers every iteration.
//   every iteration, before the update:
//     SYNC g_i -> (waits for every live member) -> SYNC_RESULT mean_i g_i
//   every tau iterations (so the tester sees the model):
//     PUSH x -> PUSH_ACK             the shard's slice becomes x
// All workers hold the same x, so concurrent PUSHes agree; the center is
// only a mirror (a delta against a stale pull would add up k times).
//
// Retries: as every rule (exchange_rule.hpp).
#include <algorithm>
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "round_rule.hpp"

namespace deepspark {
namespace distributed {
namespace {

class SyncSgdRule : public RoundRule {
 public:
  bool exchanges_gradients() const override { return true; }
  void ExchangeGradients(CenterLink& link, float* grads) override {
    mean_.resize(static_cast<size_t>(link.param_count()));
    link.Call(Kind::SYNC, grads, mean_.data(), nullptr);
    std::copy(mean_.begin(), mean_.end(), grads);
  }
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    (void)rates;
    link.Call(Kind::PUSH, x, nullptr, nullptr);
  }

 protected:
  std::vector<float> CompleteRound(ShardState& shard, const std::vector<float>& sum,
                                   int k) override {
    std::vector<float> mean(shard.size());
    Average(sum.data(), k, mean.data(), shard.size());
    return mean;
  }
  void OnOtherRequest(ShardState& shard, const ShardRequest& request) override {
    std::copy(request.tensor, request.tensor + request.count, shard.center());
    const uint64_t applied_at = shard.version();
    shard.BumpVersion();
    shard.Answer(request, Kind::PUSH_ACK, applied_at, nullptr);
  }

 private:
  std::vector<float> mean_;  // worker half
};

}  // namespace

REGISTER_EXCHANGE_RULE("sync-sgd", SyncSgdRule,
                       "synchronous SGD: gradients averaged over all workers every iteration");

}  // namespace distributed
}  // namespace deepspark
