// The inference ("deploy") form of a train/test net, as Caffe users write by
// hand for classification: what the Spark Model runs on DataFrame rows.
#pragma once

#include <vector>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// From `train_test`: the layers of its TEST phase, its one data layer (the
// layer without bottoms) replaced by an Input layer of the same name whose
// top is the data layer's first top with shape `input_shape` (N x C x H x
// W), and every layer that needs the data layer's other tops (the labels:
// accuracy, losses), directly or through another layer, left out; include
// and exclude rules are dropped. *transform gets the data layer's
// transform_param, which the caller applies to the inputs (scale, mean,
// crop), as the data layer did. Throws deepspark::Error naming the layers
// when the TEST phase has no data layer or more than one.
caffe::NetParameter MakeDeployNet(const caffe::NetParameter& train_test,
                                  const std::vector<int>& input_shape,
                                  caffe::TransformationParameter* transform);

}  // namespace deepspark
