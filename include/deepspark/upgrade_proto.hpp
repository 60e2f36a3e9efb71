// The upgrades Caffe applies to old definitions (FORMAT.md section 4):
// V0 -> V1 (with padding layers folded), data-transform fields, V1 -> V2,
// input fields -> Input layer, BatchNorm param specs; and for solvers the
// solver_type enum -> type string. `source` names the file in messages and
// logs. Unfixable input throws deepspark::Error.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

bool NetNeedsUpgrade(const caffe::NetParameter& net_param);
// Returns true if anything was upgraded (and logs what).
bool UpgradeNetAsNeeded(const std::string& source, caffe::NetParameter* param);

bool SolverNeedsTypeUpgrade(const caffe::SolverParameter& solver_param);
bool UpgradeSolverAsNeeded(const std::string& source, caffe::SolverParameter* param);
// Caffe's UpgradeSnapshotPrefixProperty: an unset prefix becomes the solver
// file path without extension; a directory prefix becomes dir/<file stem>.
void UpgradeSnapshotPrefixProperty(const std::string& param_file, caffe::SolverParameter* param);

}  // namespace deepspark
