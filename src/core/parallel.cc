#include "deepspark/parallel.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace deepspark {

void SetNumThreads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  // The openmp build of OpenBLAS follows omp_set_num_threads by itself; the
  // explicit call keeps a pthread build (if one is linked instead) in step.
  openblas_set_num_threads(n);
}

int MaxThreads() { return omp_get_max_threads(); }

}  // namespace deepspark
