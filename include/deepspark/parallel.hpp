// The engine's one threading runtime: OpenMP (GNU libgomp).
//
// Why OpenMP: Debian's oneDNN is built on it (DNNL_RUNTIME_OMP), and so is
// the OpenBLAS variant we link (openblas-openmp), so layer loops, oneDNN
// primitives and BLAS calls share one pool of threads that lives for the
// whole process: no thread is created per call, and a BLAS or oneDNN call
// made inside one of our parallel loops runs on the calling thread instead
// of starting threads of its own (no oversubscription).
//
// Thread safety: SetNumThreads sets the calling thread's count (OpenMP keeps
// it per thread; a thread started later begins from the process default, so
// a thread that computes sets its own: the server's tester, the data
// prefetcher); call it before work starts (the tools do so when they parse
// --threads). The loops may be
// called from any thread; a loop called from inside another parallel loop
// runs serially on the calling thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace deepspark {

// Sets the threads every parallel loop, oneDNN primitive and BLAS call of
// the calling thread uses.
// n <= 0 keeps the current setting (by default: all cores, or OMP_NUM_THREADS).
void SetNumThreads(int n);
// The upper bound of ThreadIndex() + 1 for the current setting: the number of
// per-thread buffers a layer needs.
int MaxThreads();
// The calling thread's index within the current parallel loop (0 outside).
inline int ThreadIndex() { return omp_get_thread_num(); }

// Calls body(i) for i in [begin, end), split into contiguous, equal blocks,
// one per thread (static schedule: the same thread count gives the same split,
// so results that depend on the split are reproducible). Loops shorter than
// min_parallel items run on the calling thread: a parallel region costs
// microseconds, more than a short loop of cheap items.
template <typename Body>
void ParallelFor(int64_t begin, int64_t end, int64_t min_parallel, const Body& body) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (n < std::max<int64_t>(min_parallel, 2) || omp_in_parallel() || omp_get_max_threads() == 1) {
    for (int64_t i = begin; i < end; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = begin; i < end; ++i) body(i);
}

// Splits [0, n) into one contiguous range per thread and calls
// body(thread, lo, hi) once per thread, thread in [0, RangeThreads(n,
// min_parallel)). Ranges are fixed by n and the thread count alone. Use it
// when each thread keeps its own accumulator or work buffer.
inline int RangeThreads(int64_t n, int64_t min_parallel) {
  if (n < std::max<int64_t>(min_parallel, 2) || omp_in_parallel()) return 1;
  return static_cast<int>(std::min<int64_t>(omp_get_max_threads(), n));
}

template <typename Body>
void ParallelRanges(int64_t n, int64_t min_parallel, const Body& body) {
  if (n <= 0) return;
  const int threads = RangeThreads(n, min_parallel);
  if (threads == 1) {
    body(0, int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
    if (lo < hi) body(t, lo, hi);
  }
}

// Element-wise loops over count values: body(lo, hi) is called with one
// block of [0, count) per thread, in parallel when count is large enough
// for the split to pay (about 32k floats: below that one core streams it in
// a few microseconds). The body loops over its block itself, so the compiler
// sees a plain loop it can vectorize.
constexpr int64_t kMinParallelElements = 1 << 15;

template <typename Body>
void ParallelForElements(int64_t count, const Body& body) {
  ParallelRanges(count, kMinParallelElements, [&](int, int64_t lo, int64_t hi) { body(lo, hi); });
}

// The same for loops whose every value costs an exponential or a tanh
// (about 20 ns in libm against 0.1 ns for a copy): a split pays from a few
// thousand values (an RNN step of 32 x 256 ran on one thread of two before).
constexpr int64_t kMinParallelTranscendentals = 1 << 11;

template <typename Body>
void ParallelForTranscendentals(int64_t count, const Body& body) {
  ParallelRanges(count, kMinParallelTranscendentals,
                 [&](int, int64_t lo, int64_t hi) { body(lo, hi); });
}

}  // namespace deepspark
