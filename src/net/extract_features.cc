// Caffe's extract_features: the values of named blobs of a TEST-phase net,
// one Datum per item, in a database per blob, written as Caffe's tool
// writes them (keys: the item's index as 10 digits; float_data with the
// blob's channels/height/width; commits every 1000), so scripts written for
// Caffe's output read ours. Each database is built under <name>.partial and
// renamed when complete.
#include <filesystem>
#include <memory>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/net.hpp"
#include "deepspark/progress.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {

int ExtractFeatures(const std::string& weights, const std::string& model,
                    const std::vector<std::string>& blob_names,
                    const std::vector<std::string>& db_paths, int num_batches,
                    const std::string& backend) {
  REQUIRE(!blob_names.empty() && blob_names.size() == db_paths.size())
      << "extract-features: " << blob_names.size() << " blob names for " << db_paths.size()
      << " databases (give one database per blob)";
  REQUIRE(num_batches > 0) << "extract-features: num_mini_batches must be positive";
  Net<float> net(model, caffe::TEST);
  net.CopyTrainedLayersFrom(weights);
  for (const std::string& name : blob_names) {
    REQUIRE(net.has_blob(name)) << "extract-features: unknown feature blob name " << name
                                << " in the network " << model;
  }
  for (const std::string& path : db_paths) {
    REQUIRE(!std::filesystem::exists(path)) << "database " << path << " exists";
    std::filesystem::remove_all(path + ".partial");
  }
  std::vector<std::unique_ptr<db::DB>> dbs;
  std::vector<std::unique_ptr<db::Transaction>> txns;
  int items = 0;
  try {
    for (const std::string& path : db_paths) {
      dbs.push_back(db::GetDB(backend));
      dbs.back()->Open(path + ".partial", db::NEW);
      txns.push_back(dbs.back()->NewTransaction());
    }
    LOG(INFO) << "Extracting features";
    ProgressMeter progress("batches", static_cast<uint64_t>(num_batches), 5.0, "Extracted");
    caffe::Datum datum;
    std::vector<int> counts(blob_names.size(), 0);
    for (int batch = 0; batch < num_batches; ++batch) {
      net.Forward();
      for (size_t i = 0; i < blob_names.size(); ++i) {
        const Blob<float>& blob = *net.blob_by_name(blob_names[i]);
        const int num = blob.num_axes() > 0 ? blob.shape(0) : 1;
        const int dim = num ? blob.count() / num : 0;
        for (int n = 0; n < num; ++n) {
          datum.Clear();
          datum.set_channels(blob.num_axes() > 1 ? blob.shape(1) : 1);
          datum.set_height(blob.num_axes() > 2 ? blob.shape(2) : 1);
          datum.set_width(blob.num_axes() > 3 ? blob.shape(3) : 1);
          const float* values = blob.cpu_data() + static_cast<size_t>(n) * dim;
          for (int d = 0; d < dim; ++d) datum.add_float_data(values[d]);
          char key[16];
          std::snprintf(key, sizeof(key), "%010d", counts[i]);
          txns[i]->Put(key, datum.SerializeAsString());
          if (++counts[i] % 1000 == 0) {
            txns[i]->Commit();
            LOG(INFO) << "Extracted features of " << counts[i] << " query images for feature blob "
                      << blob_names[i];
          }
        }
      }
      progress.Update(static_cast<uint64_t>(batch) + 1);
    }
    for (size_t i = 0; i < blob_names.size(); ++i) {
      if (counts[i] % 1000 != 0) txns[i]->Commit();
      LOG(INFO) << "Extracted features of " << counts[i] << " query images for feature blob "
                << blob_names[i];
      txns[i].reset();
      dbs[i]->Close();
    }
    items = counts[0];
  } catch (...) {
    txns.clear();
    dbs.clear();
    for (const std::string& path : db_paths) std::filesystem::remove_all(path + ".partial");
    throw;
  }
  for (const std::string& path : db_paths) std::filesystem::rename(path + ".partial", path);
  LOG(INFO) << "Successfully extracted the features!";
  return items;
}

}  // namespace deepspark
