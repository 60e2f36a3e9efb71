// Caffe's HDF5 snapshot layout (hdf5_snapshot.hpp): a parameter shared by
// several layers is written by its owner only and loads back into a net
// that shares it; files that are not Caffe's layout are refused by name.
#include "deepspark/hdf5_snapshot.hpp"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "deepspark/filler.hpp"
#include "deepspark/net.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

// Two inner products on 3 inputs; with `shared`, b uses a's parameters.
caffe::NetParameter TwoLayers(bool shared) {
  // (The net's state is TEST: these tests only read and write weights.)
  const std::string names = shared ? R"(param { name: "w" } param { name: "bias" })" : "";
  caffe::NetParameter param;
  CHECK(google::protobuf::TextFormat::ParseFromString(
      R"(name: "two" state { phase: TEST }
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "InnerProduct" bottom: "x" top: "ya" )" +
          names + R"( inner_product_param { num_output: 3 weight_filler { type: "gaussian" }
  bias_filler { type: "gaussian" } } }
layer { name: "b" type: "InnerProduct" bottom: "ya" top: "yb" )" +
          names + R"( inner_product_param { num_output: 3 weight_filler { type: "gaussian" }
  bias_filler { type: "gaussian" } } }
)",
      &param));
  return param;
}

bool Exists(hid_t file, const char* path) { return H5Lexists(file, path, H5P_DEFAULT) > 0; }

template <typename Dtype>
class Hdf5SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ds_hdf5_snapshot_XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};
TYPED_TEST_SUITE(Hdf5SnapshotTest, TestDtypes);

TYPED_TEST(Hdf5SnapshotTest, SharedParametersAreWrittenByTheirOwnerOnly) {
  Net<TypeParam> net(TwoLayers(true));
  const std::string path = this->dir_ + "/two.caffemodel.h5";
  net.ToHDF5(path);
  ASSERT_TRUE(IsHDF5File(path));
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  EXPECT_TRUE(Exists(file, "/data/in"));  // a group for every layer
  EXPECT_TRUE(Exists(file, "/data/a/0") && Exists(file, "/data/a/1"));
  EXPECT_TRUE(Exists(file, "/data/b"));
  EXPECT_FALSE(Exists(file, "/data/b/0"));  // owned by a
  EXPECT_FALSE(Exists(file, "/diff"));
  hid_t dataset = H5Dopen2(file, "/data/a/0", H5P_DEFAULT);
  hid_t type = H5Dget_type(dataset);
  EXPECT_EQ(H5Tget_size(type), sizeof(TypeParam));
  H5Tclose(type);
  H5Dclose(dataset);
  H5Fclose(file);

  Net<TypeParam> other(TwoLayers(true));
  other.CopyTrainedLayersFrom(path);
  for (int layer : {1, 2}) {
    for (int j : {0, 1}) {
      const Blob<TypeParam>& want = *net.layers()[layer]->blobs()[j];
      const Blob<TypeParam>& got = *other.layers()[layer]->blobs()[j];
      for (int k = 0; k < want.count(); ++k) EXPECT_EQ(got.cpu_data()[k], want.cpu_data()[k]);
    }
  }
  // A net whose b has parameters of its own finds them missing.
  Net<TypeParam> unshared(TwoLayers(false));
  try {
    unshared.CopyTrainedLayersFrom(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TYPED_TEST(Hdf5SnapshotTest, FilesNotInCaffesLayoutAreRefusedByName) {
  const std::string text = this->dir_ + "/text.h5";
  std::ofstream(text) << "not hdf5";
  caffe::NetParameter weights;
  caffe::SolverState state;
  auto expect_error = [](const std::function<void()>& fn, const std::string& part) {
    try {
      fn();
      FAIL() << "no error; wanted " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error([&] { ReadNetParamsFromHDF5File(text, &weights); }, "text.h5: not an HDF5 file");
  expect_error([&] { ReadSolverStateFromHDF5File(text, &state); }, "text.h5: not an HDF5 file");

  const std::string empty = this->dir_ + "/empty.h5";
  H5Fclose(H5Fcreate(empty.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  expect_error([&] { ReadNetParamsFromHDF5File(empty, &weights); }, "has no group \"data\"");
  expect_error([&] { ReadSolverStateFromHDF5File(empty, &state); }, "has no dataset \"iter\"");

  const std::string odd = this->dir_ + "/odd.h5";
  hid_t file = H5Fcreate(odd.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Gclose(H5Gcreate2(file, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Gclose(H5Gcreate2(file, "data/a", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Gclose(H5Gcreate2(file, "data/a/weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Fclose(file);
  expect_error([&] { ReadNetParamsFromHDF5File(odd, &weights); },
               "layer \"a\": member \"weights\" is not a blob index");
}

}  // namespace
}  // namespace deepspark
