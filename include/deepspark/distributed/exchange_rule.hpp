// An exchange rule: how workers and the center meet. One class per rule, in
// one file under src/distributed/rules/, holds both halves:
//  - the worker half runs on the worker's training thread: every tau
//    iterations (and after the last) Exchange() talks to the center through
//    a CenterLink; a rule that averages gradients also gets every
//    iteration's gradients (ExchangeGradients) before the solver's update;
//  - the server half runs on each shard's thread, one instance per shard,
//    on that shard's contiguous slice of the center: OnRequest() gets each
//    PUSH or SYNC of a member, OnMembershipChange() hears joins and drops.
// The rule registers itself by name (REGISTER_EXCHANGE_RULE at the end of its
// file); `--mode NAME` picks it, and the server sends the name to its
// workers. Adding a rule is one new file.
//
// Messages (protocol.hpp). Every exchange is one or two calls; a call sends
// one request to every shard at once (shard s gets floats
// [shard_begin[s], shard_begin[s+1]) of the tensor) and returns when every
// shard answered:
//   PULL -> CENTER(seq = the shard's version)      answered by the shard
//   PUSH -> PUSH_ACK(seq = version applied at)     answered by the rule
//   SYNC -> SYNC_RESULT(tensor), once the round of every live member is in
//
// Retries, the same for every rule, so no rule has to think about them.
// A request is named by (rank, session, request_id). A client that hears
// nothing from a shard for resend_ms sends the same request again; one that
// hears nothing for a long time, or hears NOT_MEMBER, rejoins (a new
// session) and makes the call again. Answers are matched by request_id:
// duplicates and late answers to earlier requests are dropped. A shard
// remembers, per rank, the last request it took and its answer:
//   - an older session, or an older request of this session: ignored (its
//     effect was applied already, or never will be);
//   - the same request again: the recorded answer is sent again (to the
//     peer that asked last), and the rule is not called: a retried PUSH is
//     applied once; a retried SYNC of a round still open only updates where
//     the answer will go;
//   - a newer request: given to the rule; a PULL is answered at once and not
//     recorded (reading the center twice changes nothing).
//
// Invariants a rule may rely on: the shard calls it only for members (the
// tester only pulls), with a tensor of exactly the shard's size, on the
// shard's thread; each (rank, request) reaches it at most once per session;
// the center's iteration has been advanced to the request's iter.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "deepspark/distributed/protocol.hpp"

namespace deepspark {
namespace distributed {

// The moving rate a (elastic pull strength) and the server factor f, after
// the job's decay schedule at some iteration.
struct ExchangeRates {
  float alpha = 0.f;
  float factor = 1.f;
};

// The worker's side of the calls above; ParamClient implements it.
class CenterLink {
 public:
  virtual ~CenterLink() = default;
  virtual int64_t param_count() const = 0;
  // One call of `kind` (PULL, PUSH or SYNC): sends each shard its slice of
  // `tensor` (null for PULL), waits for every answer, writes the answers'
  // tensors into `result` (may be null when they carry none) and their seqs
  // into `seqs` (may be null). Throws deepspark::Error when the server is
  // gone for good or refuses the request.
  virtual void Call(Kind kind, const float* tensor, float* result, std::vector<uint64_t>* seqs) = 0;
  // Center updates by other workers between a pull and the push that
  // followed it (averaged over shards), for the worker's metrics.
  virtual void NoteStaleness(double updates) { (void)updates; }
};

// A member's request, as a rule's server half sees it.
struct ShardRequest {
  int rank = -1;
  Kind kind = Kind::PUSH;
  int iter = 0;          // the worker's iteration
  uint32_t session = 0;  // with request_id: which request an answer is for
  uint64_t request_id = 0;
  const float* tensor = nullptr;
  size_t count = 0;  // == the shard's size
};

// What a rule's server half may touch of its shard. The shard thread only.
class ShardState {
 public:
  virtual ~ShardState() = default;
  virtual float* center() = 0;  // this shard's slice
  virtual size_t size() const = 0;
  // Center updates applied so far (what CENTER and PUSH_ACK report).
  virtual uint64_t version() const = 0;
  virtual void BumpVersion() = 0;
  virtual const std::set<int>& live() const = 0;  // ranks in the job now
  virtual ExchangeRates rates() const = 0;        // at the center's iteration
  // Answers `request` (and records the answer for resends). `tensor` may be
  // null, and may be shared by the answers to many ranks. An answer to a
  // request its rank has since superseded (it rejoined) is dropped.
  virtual void Answer(const ShardRequest& request, Kind kind, uint64_t seq,
                      std::shared_ptr<const std::vector<float>> tensor) = 0;
};

class ExchangeRule {
 public:
  virtual ~ExchangeRule() = default;

  // ---- worker half: the worker's training thread ----
  // True when the rule wants every iteration's gradients.
  virtual bool exchanges_gradients() const { return false; }
  // Every iteration, before the update: `grads` is the flat gradient
  // (param_count floats, net order); the rule may replace it.
  virtual void ExchangeGradients(CenterLink& link, float* grads) {
    (void)link;
    (void)grads;
  }
  // Every tau iterations: `x` is the worker's flat parameters (in place).
  virtual void Exchange(CenterLink& link, float* x, const ExchangeRates& rates) = 0;

  // ---- server half: one instance per shard, that shard's thread ----
  // A PUSH or SYNC of a member. Throw ProtocolError for a kind the rule does
  // not take (the sender is answered ERROR).
  virtual void OnRequest(ShardState& shard, const ShardRequest& request) = 0;
  // A worker joined, left or was dropped (shard.live() changed).
  virtual void OnMembershipChange(ShardState& shard) { (void)shard; }
};

using ExchangeRuleFactory = std::function<std::unique_ptr<ExchangeRule>()>;

// Registers a rule under `name` (what --mode takes); `summary` is one line
// for --help. Registering a name twice is a bug (CHECK).
void RegisterExchangeRule(const std::string& name, const std::string& summary,
                          ExchangeRuleFactory factory);
// A new instance of the rule `name`; an unknown name throws
// deepspark::Error listing the known ones.
std::unique_ptr<ExchangeRule> NewExchangeRule(const std::string& name);
// (name, summary) of every rule, sorted by name.
std::vector<std::pair<std::string, std::string>> ExchangeRules();

#define REGISTER_EXCHANGE_RULE(name, Class, summary)                               \
  static const bool registered_exchange_rule_##Class = [] {                        \
    ::deepspark::distributed::RegisterExchangeRule(name, summary, [] {             \
      return std::unique_ptr<::deepspark::distributed::ExchangeRule>(new Class()); \
    });                                                                            \
    return true;                                                                   \
  }()

}  // namespace distributed
}  // namespace deepspark
