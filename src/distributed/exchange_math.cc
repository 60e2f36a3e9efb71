#include "deepspark/distributed/exchange_math.hpp"

#include <algorithm>
#include <cmath>

namespace deepspark {
namespace distributed {

void ElasticWorkerStep(float* x, const float* c, float alpha, float factor, size_t n,
                       float* server_delta) {
  for (size_t i = 0; i < n; ++i) {
    const float d = alpha * (x[i] - c[i]);
    x[i] -= d;
    server_delta[i] = factor * d;
  }
}

int64_t FirstNonFinite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

void ApplyDelta(float* c, const float* delta, size_t n) {
  for (size_t i = 0; i < n; ++i) c[i] += delta[i];
}

void SyncElasticCenterUpdate(float* c, const float* sum_x, int k, float alpha, size_t n) {
  for (size_t i = 0; i < n; ++i) c[i] += alpha * (sum_x[i] - k * c[i]);
}

void SyncElasticWorkerUpdate(float* x, const float* old_c, float alpha, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] -= alpha * (x[i] - old_c[i]);
}

void Average(const float* sum, int k, float* out, size_t n) {
  const float scale = k > 0 ? 1.f / k : 0.f;
  for (size_t i = 0; i < n; ++i) out[i] = sum[i] * scale;
}

float DecayedRate(float base, float rate, int step, int limit, int iter) {
  if (step <= 0 || rate == 1.f) return base;
  int times = iter / step;
  if (limit > 0) times = std::min(times, limit);
  return base * std::pow(rate, static_cast<float>(times));
}

}  // namespace distributed
}  // namespace deepspark
