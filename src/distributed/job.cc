#include "deepspark/distributed/job.hpp"

#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/io.hpp"

namespace deepspark {
namespace distributed {

namespace {

std::string Under(const std::string& root, const std::string& path) {
  if (root.empty() || path.empty() || path[0] == '/') return path;
  return root + (root.back() == '/' ? "" : "/") + path;
}

// The file names in a net's layers that are read at run time, made
// absolute under root.
void ResolveNetPaths(const std::string& root, caffe::NetParameter* net) {
  for (auto& layer : *net->mutable_layer()) {
    if (layer.has_data_param()) {
      auto* d = layer.mutable_data_param();
      if (d->has_source()) d->set_source(Under(root, d->source()));
      if (d->has_mean_file()) d->set_mean_file(Under(root, d->mean_file()));
    }
    if (layer.has_transform_param() && layer.transform_param().has_mean_file()) {
      auto* t = layer.mutable_transform_param();
      t->set_mean_file(Under(root, t->mean_file()));
    }
    if (layer.has_image_data_param()) {
      auto* d = layer.mutable_image_data_param();
      if (d->has_source()) d->set_source(Under(root, d->source()));
      if (d->has_root_folder()) d->set_root_folder(Under(root, d->root_folder()));
    }
    if (layer.has_hdf5_data_param() && layer.hdf5_data_param().has_source()) {
      auto* d = layer.mutable_hdf5_data_param();
      d->set_source(Under(root, d->source()));
    }
  }
}

}  // namespace

caffe::SolverParameter ReadJobSolver(const std::string& solver_path, const std::string& root) {
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(solver_path, &param);
  if (!root.empty()) {
    if (param.has_net()) param.set_net(Under(root, param.net()));
    if (param.has_train_net()) param.set_train_net(Under(root, param.train_net()));
    for (auto& name : *param.mutable_test_net()) name = Under(root, name);
    if (param.has_snapshot_prefix())
      param.set_snapshot_prefix(Under(root, param.snapshot_prefix()));
  }
  if (param.has_net()) {
    caffe::NetParameter net;
    ReadNetParamsFromTextFile(param.net(), &net);
    param.clear_net();
    *param.mutable_net_param() = net;
  } else if (param.has_train_net()) {
    caffe::NetParameter net;
    ReadNetParamsFromTextFile(param.train_net(), &net);
    param.clear_train_net();
    *param.mutable_train_net_param() = net;
  }
  for (int i = 0; i < param.test_net_size(); ++i) {
    caffe::NetParameter net;
    ReadNetParamsFromTextFile(param.test_net(i), &net);
    *param.add_test_net_param() = net;
  }
  param.clear_test_net();
  if (!root.empty()) {
    if (param.has_net_param()) ResolveNetPaths(root, param.mutable_net_param());
    if (param.has_train_net_param()) ResolveNetPaths(root, param.mutable_train_net_param());
    for (auto& net : *param.mutable_test_net_param()) ResolveNetPaths(root, &net);
  }
  return param;
}

namespace {
// The Data layers of `net` that run in `phase` (those without include rules
// run in every phase).
std::vector<caffe::LayerParameter*> DataLayersOf(caffe::NetParameter* net, caffe::Phase phase) {
  std::vector<caffe::LayerParameter*> found;
  for (auto& layer : *net->mutable_layer()) {
    if (layer.type() != "Data") continue;
    bool match = !layer.include_size();
    for (const auto& rule : layer.include()) match |= rule.has_phase() && rule.phase() == phase;
    if (match) found.push_back(&layer);
  }
  return found;
}
}  // namespace

void SetDataPartition(caffe::NetParameter* net, caffe::Phase phase,
                      const caffe::DataPartitionParameter& partition) {
  for (caffe::LayerParameter* layer : DataLayersOf(net, phase)) {
    *layer->mutable_data_param()->mutable_partition() = partition;
  }
}

void SetDataSource(caffe::NetParameter* net, caffe::Phase phase, const std::string& source,
                   int batch_size) {
  for (caffe::LayerParameter* layer_ptr : DataLayersOf(net, phase)) {
    caffe::LayerParameter& layer = *layer_ptr;
    if (!source.empty()) {
      layer.mutable_data_param()->set_source(source);
      layer.mutable_data_param()->set_backend(db::BackendOf(source));
    }
    if (batch_size > 0) layer.mutable_data_param()->set_batch_size(batch_size);
  }
}

}  // namespace distributed
}  // namespace deepspark
