// deepspark: the original DeepSpark's rule (Kim et al. 2016; DESIGN.md),
// kept as its own mode so it can be measured beside EASGD on the same job.
//
// Every tau ("period") iterations, worker i:
//   PULL -> CENTER c
//   PUSH x (the worker's parameters, whole) -> PUSH_ACK
//   x = (1 - a) x + a c             (with the center it pulled)
// The shard moves its slice towards x with the center it holds *now*:
//   c = (1 - a f) c + a f x         (a, f decayed at the center's iteration)
// It differs from async-easgd when the center moved between the pull and
// the push: EASGD pushes a (x - c_pulled), this rule pulls the current
// center towards x. The original server read and wrote the center from 8
// threads with no lock and lost updates when two read the same c; here one
// thread owns each slice, so none is lost and none waits.
//
// Retries: as every rule (exchange_rule.hpp): the PUSH is applied once.
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/exchange_rule.hpp"

namespace deepspark {
namespace distributed {
namespace {

class DeepSparkRule : public ExchangeRule {
 public:
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    const size_t n = static_cast<size_t>(link.param_count());
    center_.resize(n);
    link.Call(Kind::PULL, nullptr, center_.data(), nullptr);
    link.Call(Kind::PUSH, x, nullptr, nullptr);
    SyncElasticWorkerUpdate(x, center_.data(), rates.alpha, n);
  }

  void OnRequest(ShardState& shard, const ShardRequest& request) override {
    if (request.kind != Kind::PUSH) throw ProtocolError("deepspark takes PUSH, not SYNC");
    const ExchangeRates rates = shard.rates();
    const float pull = rates.alpha * rates.factor;
    float* c = shard.center();
    for (size_t i = 0; i < request.count; ++i) c[i] += pull * (request.tensor[i] - c[i]);
    const uint64_t applied_at = shard.version();
    shard.BumpVersion();
    shard.Answer(request, Kind::PUSH_ACK, applied_at, nullptr);
  }

 private:
  std::vector<float> center_;  // worker half: the pulled center
};

}  // namespace

REGISTER_EXCHANGE_RULE("deepspark", DeepSparkRule,
                       "the original DeepSpark: push x, the server pulls its center towards it");

}  // namespace distributed
}  // namespace deepspark
