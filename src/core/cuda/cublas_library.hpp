// cuBLAS, loaded on first use (dlopen) rather than linked: linking libcublas
// (and its libcublasLt) cost every process of the tool ~70 ms and ~200 MB of
// touched pages at start, GPU or not (measured: --help at 60 MB max RSS
// without it, 277 MB with it), and Spark starts one such process per task.
// Only the functions DeepSpark calls are looked up.
//
// Thread safety: Cublas() may be called from any thread (loaded once).
#pragma once

#include <cublas_v2.h>

namespace deepspark {

struct CublasLibrary {
  decltype(&cublasCreate_v2) Create;
  decltype(&cublasSgemm_v2) Sgemm;
  decltype(&cublasDgemm_v2) Dgemm;
  decltype(&cublasSgemv_v2) Sgemv;
  decltype(&cublasDgemv_v2) Dgemv;
  decltype(&cublasSaxpy_v2) Saxpy;
  decltype(&cublasDaxpy_v2) Daxpy;
  decltype(&cublasSscal_v2) Sscal;
  decltype(&cublasDscal_v2) Dscal;
  decltype(&cublasSdot_v2) Sdot;
  decltype(&cublasDdot_v2) Ddot;
  decltype(&cublasSasum_v2) Sasum;
  decltype(&cublasDasum_v2) Dasum;
};

// The loaded library; throws deepspark::Error naming the files tried and
// dlopen's reason when cuBLAS cannot be loaded.
const CublasLibrary& Cublas();

}  // namespace deepspark
