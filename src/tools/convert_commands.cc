// `deepspark convert-mnist`, `convert-imageset` and `compute-image-mean`:
// Caffe's convert_mnist_data, convert_imageset and compute_image_mean.
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

Command AddConvertImagesetCommand(CLI::App* app) {
  auto opt = std::make_shared<ConvertImagesetOptions>();
  app->add_option("root_folder", opt->root_folder,
                  "folder the list's paths start from (ends with /, as Caffe's)")
      ->required();
  app->add_option("list_file", opt->list_file, "lines of 'relative/path label'")->required();
  app->add_option("db", opt->db_path, "output database (must not exist)")->required();
  app->add_flag("--gray", opt->gray, "read the images as one grey channel");
  app->add_flag("--shuffle", opt->shuffle, "shuffle the list's order (seeded: --shuffle_seed)");
  app->add_option("--shuffle_seed", opt->shuffle_seed, "seed of --shuffle (default 0)");
  app->add_option("--backend", opt->backend, "lmdb (default), leveldb or records");
  app->add_option("--resize_width", opt->resize_width, "resize to this width (with height)");
  app->add_option("--resize_height", opt->resize_height, "resize to this height (with width)");
  app->add_flag("--check_size", opt->check_size, "require every image's data to be one size");
  app->add_flag("--encoded", opt->encoded, "store the encoded image (Caffe's encoded Datum)");
  app->add_option("--encode_type", opt->encode_type,
                  "encoding of stored images (png, jpg, ...; default: the file's own)");
  return [opt]() {
    const int n = ConvertImageset(*opt);
    std::printf("wrote %d items to %s\n", n, opt->db_path.c_str());
    return 0;
  };
}

}  // namespace tools
}  // namespace deepspark
