// The arithmetic of the exchange rules of DESIGN.md, as small pure functions
// on flat float ranges, so that it can be read and tested against
// hand-computed values; the rules (exchange_rule.hpp, src/distributed/rules)
// call these on both sides.
//
// Notation: x = a worker's parameters, c = the center, a = moving rate,
// f = server factor (original DeepSpark; 1 gives the EASGD rule).
#pragma once

#include <cstddef>
#include <cstdint>

namespace deepspark {
namespace distributed {

// Asynchronous EASGD, worker side. Given the pulled center c:
//   d = a (x - c);  x -= d;  server_delta = f d.
// Writes server_delta (what the server adds to its center) and updates x.
void ElasticWorkerStep(float* x, const float* c, float alpha, float factor, size_t n,
                       float* server_delta);

// Server side of asynchronous EASGD: c += delta.
void ApplyDelta(float* c, const float* delta, size_t n);

// Synchronous EASGD round, server side, with the round's worker parameters
// x_1..x_k: c_new = c + a * sum_i (x_i - c). `sum_x` is sum_i x_i.
void SyncElasticCenterUpdate(float* c, const float* sum_x, int k, float alpha, size_t n);
// Worker side of the same round, with the round's *old* center c:
//   x -= a (x - c).
void SyncElasticWorkerUpdate(float* x, const float* old_c, float alpha, size_t n);

// Model averaging / synchronous SGD: out = sum / k.
void Average(const float* sum, int k, float* out, size_t n);

// The index of the first NaN or Inf among v[0..n), or -1 when all are
// finite: pushes, a worker's parameters and the center are checked with it.
int64_t FirstNonFinite(const float* v, size_t n);

// The moving rate (or server factor) after decay: base * rate^min(iter /
// step, limit); step <= 0 or rate == 1 means no decay.
float DecayedRate(float base, float rate, int step, int limit, int iter);

}  // namespace distributed
}  // namespace deepspark
