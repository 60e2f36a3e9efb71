// `deepspark convert-mnist` and `deepspark compute-image-mean`: Caffe's
// convert_mnist_data and compute_image_mean.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "deepspark/common.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {
namespace tools {

namespace {
struct ConvertOptions {
  std::string images, labels, db, backend = "lmdb";
};
struct MeanOptions {
  std::string db, output, backend = "lmdb";
};
}  // namespace

Command AddConvertMnistCommand(CLI::App* app) {
  auto opt = std::make_shared<ConvertOptions>();
  app->add_option("images", opt->images, "IDX image file (gzipped or not)")->required();
  app->add_option("labels", opt->labels, "IDX label file (gzipped or not)")->required();
  app->add_option("db", opt->db, "output database (must not exist)")->required();
  app->add_option("--backend", opt->backend, "lmdb (default) or leveldb");
  return [opt]() {
    int n = ConvertMnist(opt->images, opt->labels, opt->db, opt->backend);
    std::printf("wrote %d items to %s\n", n, opt->db.c_str());
    return 0;
  };
}

Command AddComputeImageMeanCommand(CLI::App* app) {
  auto opt = std::make_shared<MeanOptions>();
  app->add_option("db", opt->db, "input database")->required();
  app->add_option("output", opt->output, "output .binaryproto (optional)");
  app->add_option("--backend", opt->backend, "lmdb (default) or leveldb");
  return [opt]() {
    caffe::BlobProto mean = ComputeImageMean(opt->db, opt->backend, opt->output);
    const int channels = mean.channels();
    const int dim = mean.height() * mean.width();
    for (int c = 0; c < channels; ++c) {
      double sum = 0;
      for (int i = 0; i < dim; ++i) sum += mean.data(c * dim + i);
      std::printf("mean_value channel [%d]: %g\n", c, dim ? sum / dim : 0.0);
    }
    return 0;
  };
}

}  // namespace tools
}  // namespace deepspark
