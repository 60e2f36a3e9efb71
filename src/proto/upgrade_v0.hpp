// V0 -> V1 net upgrade (FORMAT.md section 4, step 1), private to src/proto.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// True when any V1 `layers` entry still nests a V0 `layer`.
bool NetNeedsV0ToV1Upgrade(const caffe::NetParameter& net);
// Folds "padding" layers into the conv/pool that consumes them, then maps
// every V0 field to its V1 place. Returns false when some field had no place
// for its layer type (logged, dropped, as Caffe does); throws deepspark::Error
// for an unknown V0 type or a padding layer that cannot be folded.
bool UpgradeV0Net(const std::string& source, caffe::NetParameter* net);

}  // namespace deepspark
