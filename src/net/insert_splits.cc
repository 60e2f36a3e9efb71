#include "deepspark/insert_splits.hpp"

#include <map>
#include <utility>

#include "deepspark/common.hpp"

namespace deepspark {
namespace {
using BlobIndex = std::pair<int, int>;  // (layer index, top or bottom index)

void ConfigureSplitLayer(const std::string& layer_name, const std::string& blob_name,
                         int blob_idx, int split_count, float loss_weight,
                         caffe::LayerParameter* split_layer_param) {
  split_layer_param->Clear();
  split_layer_param->add_bottom(blob_name);
  split_layer_param->set_name(SplitLayerName(layer_name, blob_name, blob_idx));
  split_layer_param->set_type("Split");
  for (int k = 0; k < split_count; ++k) {
    split_layer_param->add_top(SplitBlobName(layer_name, blob_name, blob_idx, k));
    // A loss on the split blob moves to the split's first top.
    if (loss_weight) split_layer_param->add_loss_weight(k == 0 ? loss_weight : 0);
  }
}
}  // namespace

std::string SplitLayerName(const std::string& layer_name, const std::string& blob_name,
                           int blob_idx) {
  return blob_name + "_" + layer_name + "_" + std::to_string(blob_idx) + "_split";
}

std::string SplitBlobName(const std::string& layer_name, const std::string& blob_name,
                          int blob_idx, int split_idx) {
  return blob_name + "_" + layer_name + "_" + std::to_string(blob_idx) + "_split_" +
         std::to_string(split_idx);
}

void InsertSplits(const caffe::NetParameter& param, caffe::NetParameter* param_split) {
  param_split->CopyFrom(param);
  param_split->clear_layer();
  std::map<std::string, BlobIndex> blob_name_to_last_top_idx;
  std::map<BlobIndex, BlobIndex> bottom_idx_to_source_top_idx;
  std::map<BlobIndex, int> top_idx_to_bottom_count;
  std::map<BlobIndex, float> top_idx_to_loss_weight;
  std::map<BlobIndex, int> top_idx_to_bottom_split_idx;
  std::map<int, std::string> layer_idx_to_layer_name;
  for (int i = 0; i < param.layer_size(); ++i) {
    const caffe::LayerParameter& layer_param = param.layer(i);
    layer_idx_to_layer_name[i] = layer_param.name();
    for (int j = 0; j < layer_param.bottom_size(); ++j) {
      const std::string& blob_name = layer_param.bottom(j);
      auto it = blob_name_to_last_top_idx.find(blob_name);
      REQUIRE(it != blob_name_to_last_top_idx.end())
          << "layer '" << layer_param.name() << "': unknown bottom blob '" << blob_name
          << "' (bottom index " << j << "); no earlier layer produces it";
      bottom_idx_to_source_top_idx[BlobIndex(i, j)] = it->second;
      ++top_idx_to_bottom_count[it->second];
    }
    for (int j = 0; j < layer_param.top_size(); ++j) {
      blob_name_to_last_top_idx[layer_param.top(j)] = BlobIndex(i, j);
    }
    // A top used as a loss counts as one more consumer.
    const int last_loss = std::min(layer_param.loss_weight_size(), layer_param.top_size());
    for (int j = 0; j < last_loss; ++j) {
      const BlobIndex& top_idx = blob_name_to_last_top_idx[layer_param.top(j)];
      top_idx_to_loss_weight[top_idx] = layer_param.loss_weight(j);
      if (layer_param.loss_weight(j)) ++top_idx_to_bottom_count[top_idx];
    }
  }
  for (int i = 0; i < param.layer_size(); ++i) {
    caffe::LayerParameter* layer_param = param_split->add_layer();
    layer_param->CopyFrom(param.layer(i));
    for (int j = 0; j < layer_param->bottom_size(); ++j) {
      const BlobIndex& top_idx = bottom_idx_to_source_top_idx[BlobIndex(i, j)];
      const int split_count = top_idx_to_bottom_count[top_idx];
      if (split_count > 1) {
        const std::string& layer_name = layer_idx_to_layer_name[top_idx.first];
        const std::string blob_name = layer_param->bottom(j);
        layer_param->set_bottom(j, SplitBlobName(layer_name, blob_name, top_idx.second,
                                                 top_idx_to_bottom_split_idx[top_idx]++));
      }
    }
    for (int j = 0; j < layer_param->top_size(); ++j) {
      const BlobIndex top_idx(i, j);
      const int split_count = top_idx_to_bottom_count[top_idx];
      if (split_count > 1) {
        const std::string& layer_name = layer_idx_to_layer_name[i];
        const std::string& blob_name = layer_param->top(j);
        caffe::LayerParameter* split_layer_param = param_split->add_layer();
        const float loss_weight = top_idx_to_loss_weight[top_idx];
        ConfigureSplitLayer(layer_name, blob_name, j, split_count, loss_weight,
                            split_layer_param);
        if (loss_weight) {
          layer_param->clear_loss_weight();
          top_idx_to_bottom_split_idx[top_idx]++;
        }
      }
    }
  }
}

}  // namespace deepspark
