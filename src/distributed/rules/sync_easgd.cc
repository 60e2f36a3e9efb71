// sync-easgd: synchronous elastic averaging. Every tau iterations all live
// workers meet in a round:
//   SYNC x_i -> (waits for every live member) -> SYNC_RESULT c_old
//   worker: x_i -= a (x_i - c_old)
//   shard:  c = c_old + a sum_i (x_i - c_old)
// so every worker and the center move by the same elastic differences.
// A worker dropped mid-round does not hold the round up (round_rule.hpp).
//
// Retries: a resent SYNC of an open round only changes where the answer
// goes; one of a finished round gets the recorded answer again.
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "round_rule.hpp"

namespace deepspark {
namespace distributed {
namespace {

class SyncEasgdRule : public RoundRule {
 public:
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    const size_t n = static_cast<size_t>(link.param_count());
    old_center_.resize(n);
    link.Call(Kind::SYNC, x, old_center_.data(), nullptr);
    SyncElasticWorkerUpdate(x, old_center_.data(), rates.alpha, n);
  }

 protected:
  std::vector<float> CompleteRound(ShardState& shard, const std::vector<float>& sum,
                                   int k) override {
    std::vector<float> old(shard.center(), shard.center() + shard.size());
    SyncElasticCenterUpdate(shard.center(), sum.data(), k, shard.rates().alpha, shard.size());
    shard.BumpVersion();
    return old;
  }

 private:
  std::vector<float> old_center_;  // worker half
};

}  // namespace

REGISTER_EXCHANGE_RULE("sync-easgd", SyncEasgdRule,
                       "synchronous EASGD: rounds of all live workers every tau iterations");

}  // namespace distributed
}  // namespace deepspark
