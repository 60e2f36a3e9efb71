// The solver registry: type string -> class, with the legacy enum mapped.
#include "deepspark/solver_factory.hpp"

#include <sstream>

#include "deepspark/sgd_solvers.hpp"

namespace deepspark {

namespace {
// The strings of caffe::SolverParameter::SolverType, in enum order.
const char* const kLegacyTypes[] = {"SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"};

std::string KnownList() {
  std::ostringstream out;
  bool first = true;
  for (const std::string& name : SolverTypeList()) {
    out << (first ? "" : ", ") << name;
    first = false;
  }
  return out.str();
}

template <typename Dtype, typename... Args>
std::unique_ptr<Solver<Dtype>> Make(const caffe::SolverParameter& param, const Args&... args) {
  const std::string type = SolverTypeOf(param);
  if (type == "SGD") return std::make_unique<SGDSolver<Dtype>>(param, args...);
  if (type == "Nesterov") return std::make_unique<NesterovSolver<Dtype>>(param, args...);
  if (type == "AdaGrad") return std::make_unique<AdaGradSolver<Dtype>>(param, args...);
  if (type == "RMSProp") return std::make_unique<RMSPropSolver<Dtype>>(param, args...);
  if (type == "AdaDelta") return std::make_unique<AdaDeltaSolver<Dtype>>(param, args...);
  if (type == "Adam") return std::make_unique<AdamSolver<Dtype>>(param, args...);
  THROW_ERROR() << "Unknown solver type: '" << type << "' (known types: " << KnownList() << ")";
  return nullptr;
}
}  // namespace

std::vector<std::string> SolverTypeList() {
  return {"AdaDelta", "AdaGrad", "Adam", "Nesterov", "RMSProp", "SGD"};
}

std::string SolverTypeOf(const caffe::SolverParameter& param) {
  if (!param.has_solver_type()) return param.type();
  const int index = static_cast<int>(param.solver_type());
  REQUIRE(index >= 0 && index < 6) << "Unknown solver_type enum value " << index;
  REQUIRE(!param.has_type() || param.type() == kLegacyTypes[index])
      << "Failed to upgrade solver: old solver_type field (enum) and new type field (string) "
         "cannot be both specified";
  return kLegacyTypes[index];
}

template <typename Dtype>
std::unique_ptr<Solver<Dtype>> CreateSolver(const caffe::SolverParameter& param) {
  return Make<Dtype>(param);
}

template <typename Dtype>
std::unique_ptr<Solver<Dtype>> CreateSolver(const caffe::SolverParameter& param,
                                            const SolverParamSet<Dtype>& params) {
  return Make<Dtype>(param, params);
}

template std::unique_ptr<Solver<float>> CreateSolver(const caffe::SolverParameter&);
template std::unique_ptr<Solver<double>> CreateSolver(const caffe::SolverParameter&);
template std::unique_ptr<Solver<float>> CreateSolver(const caffe::SolverParameter&,
                                                     const SolverParamSet<float>&);
template std::unique_ptr<Solver<double>> CreateSolver(const caffe::SolverParameter&,
                                                      const SolverParamSet<double>&);

}  // namespace deepspark
