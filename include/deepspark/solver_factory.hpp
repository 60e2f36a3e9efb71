// Creates a solver from its type string ("SGD", "Nesterov", "AdaGrad",
// "RMSProp", "AdaDelta", "Adam"; case-sensitive, as Caffe's registry). A
// parameter still carrying the legacy solver_type enum is mapped to the
// string. An unknown type throws deepspark::Error listing the known ones.
// Thread safety: re-entrant.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/proto/caffe.pb.h"
#include "deepspark/solver.hpp"

namespace deepspark {

// The known type strings, sorted.
std::vector<std::string> SolverTypeList();

// The type string the parameter asks for (type, or the legacy enum).
std::string SolverTypeOf(const caffe::SolverParameter& param);

template <typename Dtype>
std::unique_ptr<Solver<Dtype>> CreateSolver(const caffe::SolverParameter& param);

// A net-less solver updating `params` (see SolverParamSet).
template <typename Dtype>
std::unique_ptr<Solver<Dtype>> CreateSolver(const caffe::SolverParameter& param,
                                            const SolverParamSet<Dtype>& params);

}  // namespace deepspark
