// model-averaging: SparkNet's rule. Every tau iterations all live workers
// meet in a round:
//   SYNC x_i -> (waits for every live member) -> SYNC_RESULT mean_i x_i
// and the center and every worker become the mean.
//
// Retries: a resent SYNC of an open round only changes where the answer
// goes; one of a finished round gets the recorded answer again. The result
// is written over x only after every shard answered, so a resend always
// carries the worker's own parameters.
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "round_rule.hpp"

namespace deepspark {
namespace distributed {
namespace {

class ModelAveragingRule : public RoundRule {
 public:
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    (void)rates;
    const size_t n = static_cast<size_t>(link.param_count());
    mean_.resize(n);
    link.Call(Kind::SYNC, x, mean_.data(), nullptr);
    std::copy(mean_.begin(), mean_.end(), x);
  }

 protected:
  std::vector<float> CompleteRound(ShardState& shard, const std::vector<float>& sum,
                                   int k) override {
    Average(sum.data(), k, shard.center(), shard.size());
    shard.BumpVersion();
    return std::vector<float>(shard.center(), shard.center() + shard.size());
  }

 private:
  std::vector<float> mean_;  // worker half
};

}  // namespace

REGISTER_EXCHANGE_RULE("model-averaging", ModelAveragingRule,
                       "SparkNet's model averaging: every tau iterations all become the mean");

}  // namespace distributed
}  // namespace deepspark
