// `deepspark extract-features WEIGHTS MODEL BLOBS DBS NUM_BATCHES DB_TYPE [CPU]`:
// Caffe's extract_features, with its positional arguments (BLOBS and DBS
// comma-separated, one database per blob).
#include <cstdio>
#include <memory>

#include "cli_util.hpp"
#include "commands.hpp"
#include "deepspark/common.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {
namespace tools {

namespace {
struct ExtractOptions {
  std::string weights, model, blobs, dbs, backend, mode = "CPU";
  int batches = 0, device = 0;
};
}  // namespace

Command AddExtractFeaturesCommand(CLI::App* app) {
  auto opt = std::make_shared<ExtractOptions>();
  app->add_option("pretrained_net_param", opt->weights, "the .caffemodel")->required();
  app->add_option("feature_extraction_proto_file", opt->model,
                  "the net prototxt (TEST phase; its data layer feeds the items)")
      ->required();
  app->add_option("extract_feature_blob_names", opt->blobs, "blob names, comma-separated")
      ->required();
  app->add_option("save_feature_dataset_names", opt->dbs,
                  "output databases, comma-separated, one per blob")
      ->required();
  app->add_option("num_mini_batches", opt->batches, "forward passes")->required();
  app->add_option("db_type", opt->backend, "lmdb, leveldb or records")->required();
  app->add_option("mode", opt->mode, "CPU (GPU: not in this build)");
  app->add_option("device_id", opt->device, "ignored on the CPU");
  return [opt]() {
    REQUIRE(opt->mode == "CPU") << "extract-features: mode " << opt->mode
                                << ": this build runs on the CPU only";
    const int n = ExtractFeatures(opt->weights, opt->model, SplitComma(opt->blobs),
                                  SplitComma(opt->dbs), opt->batches, opt->backend);
    std::printf("extracted %d items per blob\n", n);
    return 0;
  };
}

}  // namespace tools
}  // namespace deepspark
