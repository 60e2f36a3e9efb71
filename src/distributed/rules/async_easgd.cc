// async-easgd: asynchronous elastic averaging SGD (Zhang, Choromanska and
// LeCun 2015), the default. No worker ever waits for another and no lock is
// taken: each shard's thread owns its slice of the center.
//
// Every tau iterations, worker i:
//   PULL  -> CENTER c (each shard's slice at its current version v_s)
//   d = a (x - c);  x -= d          (the elastic pull on the worker)
//   PUSH f d -> PUSH_ACK(version the push was applied at)
// The shard adds the pushed tensor to its slice: c += f d. With f = 1 the
// exchange moves d from the worker to the center, so x_i + c summed over
// workers and center is kept (DistServerTest checks it); f != 1 is the
// original DeepSpark's server factor applied to EASGD's delta.
//
// Staleness: the center may move between this worker's PULL and PUSH (other
// workers' pushes); PUSH_ACK's version minus the pulled one says by how
// many updates, and goes into the worker's metrics.
//
// Retries: a PUSH is resent with its request id until acknowledged and is
// applied once (exchange_rule.hpp); x has moved before the PUSH, so the
// PUSH is never given up while the server lives.
#include <vector>

#include "deepspark/distributed/exchange_math.hpp"
#include "deepspark/distributed/exchange_rule.hpp"

namespace deepspark {
namespace distributed {
namespace {

class AsyncEasgdRule : public ExchangeRule {
 public:
  void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) override {
    const size_t n = static_cast<size_t>(link.param_count());
    center_.resize(n);
    delta_.resize(n);
    std::vector<uint64_t> pulled, applied;
    link.Call(Kind::PULL, nullptr, center_.data(), &pulled);
    ElasticWorkerStep(x, center_.data(), rates.alpha, rates.factor, n, delta_.data());
    link.Call(Kind::PUSH, delta_.data(), nullptr, &applied);
    double staleness = 0;
    for (size_t s = 0; s < applied.size() && s < pulled.size(); ++s) {
      staleness += static_cast<double>(applied[s] - pulled[s]);
    }
    if (!applied.empty()) link.NoteStaleness(staleness / applied.size());
  }

  void OnRequest(ShardState& shard, const ShardRequest& request) override {
    if (request.kind != Kind::PUSH) throw ProtocolError("async-easgd takes PUSH, not SYNC");
    ApplyDelta(shard.center(), request.tensor, request.count);
    const uint64_t applied_at = shard.version();
    shard.BumpVersion();
    shard.Answer(request, Kind::PUSH_ACK, applied_at, nullptr);
  }

 private:
  std::vector<float> center_, delta_;  // worker half: scratch
};

}  // namespace

REGISTER_EXCHANGE_RULE("async-easgd", AsyncEasgdRule,
                       "asynchronous EASGD: pull, move elastically, push the difference (default)");

}  // namespace distributed
}  // namespace deepspark
