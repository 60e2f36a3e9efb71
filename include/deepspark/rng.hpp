// Random numbers. Each thread has its own Mersenne Twister. A solver with
// random_seed >= 0 seeds the training thread's generator from (seed, iter)
// at every iteration, so a run resumed from a snapshot draws exactly the
// numbers the uninterrupted run drew (Caffe itself does not promise this).
//
// Thread safety: ThreadRng() is per-thread; the global seed is atomic.
#pragma once

#include <cstdint>
#include <random>

namespace deepspark {

using RngEngine = std::mt19937;

// The calling thread's generator. Seeded from the global seed (if set) and a
// per-thread counter, else from std::random_device.
RngEngine& ThreadRng();

// Sets the global seed and reseeds the calling thread's generator with it.
// A negative seed means "nondeterministic" (random_device).
void SetRandomSeed(int64_t seed);
int64_t RandomSeed();

// Reseeds the calling thread's generator from (seed, stream), a pure function
// of both, so independent consumers (iteration numbers, prefetch batches)
// get repeatable, unrelated streams.
void SeedThreadRng(int64_t seed, uint64_t stream);

// A 64-bit mix of two values (splitmix64 of their combination).
uint64_t MixSeed(uint64_t a, uint64_t b);

}  // namespace deepspark
