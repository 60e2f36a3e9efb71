#include "deepspark/distributed/job.hpp"

#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/io.hpp"

namespace deepspark {
namespace distributed {

caffe::SolverParameter ReadJobSolver(const std::string& solver_path) {
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(solver_path, &param);
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
