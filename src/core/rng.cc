#include "deepspark/rng.hpp"

#include <atomic>

namespace deepspark {
namespace {
std::atomic<int64_t> g_seed{-1};
std::atomic<uint64_t> g_thread_counter{0};

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

RngEngine MakeEngine() {
  int64_t seed = g_seed.load();
  uint64_t thread_index = g_thread_counter.fetch_add(1);
  if (seed >= 0) {
    std::seed_seq seq{static_cast<uint32_t>(MixSeed(seed, thread_index)),
                      static_cast<uint32_t>(MixSeed(seed, thread_index) >> 32)};
    return RngEngine(seq);
  }
  std::random_device device;
  std::seed_seq seq{device(), device(), device(), device()};
  return RngEngine(seq);
}
}  // namespace

uint64_t MixSeed(uint64_t a, uint64_t b) { return SplitMix64(SplitMix64(a) ^ (b * 0x2545F4914F6CDD1DULL)); }

RngEngine& ThreadRng() {
  thread_local RngEngine engine = MakeEngine();
  return engine;
}

void SetRandomSeed(int64_t seed) {
  g_seed = seed;
  if (seed >= 0) {
    ThreadRng().seed(static_cast<uint32_t>(seed));
  }
}

int64_t RandomSeed() { return g_seed.load(); }

void SeedThreadRng(int64_t seed, uint64_t stream) {
  uint64_t mixed = MixSeed(static_cast<uint64_t>(seed), stream);
  std::seed_seq seq{static_cast<uint32_t>(mixed), static_cast<uint32_t>(mixed >> 32)};
  ThreadRng().seed(seq);
}

}  // namespace deepspark
