// ctest runs test processes side by side (-j2 on 2 cores): each test starts
// with one engine thread, so two OpenMP teams never spin against each other.
// Tests about threads set their own count (threads_test.cc and others).
// OMP_NUM_THREADS in the environment, when set, wins.
#include <cstdlib>

#include "deepspark/parallel.hpp"

namespace {
const bool kOneThreadByDefault = [] {
  if (std::getenv("OMP_NUM_THREADS") == nullptr) deepspark::SetNumThreads(1);
  return true;
}();
}  // namespace
