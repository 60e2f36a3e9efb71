// Caffe's automatic Split layers: where a top blob feeds more than one
// bottom (or feeds a bottom and is also a loss), a "Split" layer named
// "<blob>_<layer>_<top index>_split" is inserted with tops
// "<blob>_<layer>_<top index>_split_<k>", and consumers are rewired to them.
// The names match Caffe's, so saved .caffemodels list the same layers.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// Throws deepspark::Error on a bottom that no earlier layer produces.
void InsertSplits(const caffe::NetParameter& param, caffe::NetParameter* param_split);

std::string SplitLayerName(const std::string& layer_name, const std::string& blob_name,
                           int blob_idx);
std::string SplitBlobName(const std::string& layer_name, const std::string& blob_name,
                          int blob_idx, int split_idx);

}  // namespace deepspark
