// HDF5Output: the file is created empty at setup; each forward replaces the
// datasets "data" and "label" with the batch (Caffe's 4-D shapes, the net's
// element type), read back with the HDF5 C API and through the HDF5Data
// layer; no .partial file is left; bad batches and paths are errors.
#include "deepspark/layers/hdf5_output_layer.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "data_test_util.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

caffe::LayerParameter OutputParam(const std::string& file_name) {
  caffe::LayerParameter p;
  p.set_type("HDF5Output");
  p.mutable_hdf5_output_param()->set_file_name(file_name);
  return p;
}

// A dataset of an HDF5 file: its dimensions, element size and values.
struct Dataset {
  std::vector<hsize_t> dims;
  size_t element_size = 0;
  std::vector<double> values;
};

bool HasDataset(const std::string& file_name, const char* name) {
  hid_t file = H5Fopen(file_name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << file_name;
  const bool has = H5Lexists(file, name, H5P_DEFAULT) > 0;
  H5Fclose(file);
  return has;
}

Dataset ReadDataset(const std::string& file_name, const char* name) {
  Dataset result;
  hid_t file = H5Fopen(file_name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << file_name;
  hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(dataset, 0) << name;
  hid_t type = H5Dget_type(dataset);
  EXPECT_EQ(H5Tget_class(type), H5T_FLOAT);
  result.element_size = H5Tget_size(type);
  hid_t space = H5Dget_space(dataset);
  result.dims.resize(H5Sget_simple_extent_ndims(space));
  H5Sget_simple_extent_dims(space, result.dims.data(), nullptr);
  result.values.resize(H5Sget_simple_extent_npoints(space));
  if (!result.values.empty()) {  // an empty batch has no buffer to read into
    EXPECT_GE(
        H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, result.values.data()),
        0);
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(dataset);
  H5Fclose(file);
  return result;
}

template <typename Dtype>
class HDF5OutputLayerTest : public ::testing::Test {
 protected:
  void SetUp() override { SeedThreadRng(1701, 0); }
  // Fills the data and labels of a batch of `num` with fresh values.
  void MakeBatch(int num) {
    data_.Reshape(num, 3, 2, 4);
    label_.Reshape(std::vector<int>{num});
    caffe_rng_gaussian<Dtype>(data_.count(), Dtype(0), Dtype(1), data_.mutable_cpu_data());
    for (int i = 0; i < num; ++i) label_.mutable_cpu_data()[i] = Dtype(10 * num + i);
  }
  void ExpectFileHolds(const std::string& file_name) {
    const Dataset data = ReadDataset(file_name, "data");
    EXPECT_EQ(data.dims, (std::vector<hsize_t>{hsize_t(data_.shape(0)), 3, 2, 4}));
    EXPECT_EQ(data.element_size, sizeof(Dtype));
    ASSERT_EQ(data.values.size(), static_cast<size_t>(data_.count()));
    for (int i = 0; i < data_.count(); ++i) {
      EXPECT_EQ(data.values[i], static_cast<double>(data_.cpu_data()[i])) << i;
    }
    const Dataset label = ReadDataset(file_name, "label");
    // Caffe stores the labels (N) as (N, 1, 1, 1).
    EXPECT_EQ(label.dims, (std::vector<hsize_t>{hsize_t(label_.shape(0)), 1, 1, 1}));
    ASSERT_EQ(label.values.size(), static_cast<size_t>(label_.count()));
    for (int i = 0; i < label_.count(); ++i) {
      EXPECT_EQ(label.values[i], static_cast<double>(label_.cpu_data()[i])) << i;
    }
  }
  TempDir dir_;
  Blob<Dtype> data_, label_;
  std::vector<Blob<Dtype>*> bottom_vec_{&data_, &label_}, top_vec_;
};
TYPED_TEST_SUITE(HDF5OutputLayerTest, TestDtypes);

TYPED_TEST(HDF5OutputLayerTest, EachForwardReplacesTheBatch) {
  const std::string file_name = this->dir_ / "out.h5";
  {
    std::ofstream old(file_name);
    old << "an older file, truncated at setup";
  }
  this->MakeBatch(2);
  auto layer = LayerRegistry<TypeParam>::CreateLayer(OutputParam(file_name));
  EXPECT_STREQ(layer->type(), "HDF5Output");
  layer->SetUp(this->bottom_vec_, this->top_vec_);
  // Setup leaves a valid HDF5 file without datasets.
  EXPECT_FALSE(HasDataset(file_name, "data"));
  layer->Forward(this->bottom_vec_, this->top_vec_);
  this->ExpectFileHolds(file_name);
  // Caffe's layer fails here (the datasets exist); this one replaces them,
  // with a batch of another size too.
  this->MakeBatch(3);
  layer->Forward(this->bottom_vec_, this->top_vec_);
  this->ExpectFileHolds(file_name);
  EXPECT_FALSE(std::filesystem::exists(file_name + ".partial"));
  // Backward passes nothing (and changes nothing).
  layer->Backward(this->top_vec_, {false, false}, this->bottom_vec_);
  layer.reset();
  this->ExpectFileHolds(file_name);
}

TYPED_TEST(HDF5OutputLayerTest, HDF5DataReadsItBack) {
  const std::string file_name = this->dir_ / "out.h5";
  this->MakeBatch(3);
  auto writer = LayerRegistry<TypeParam>::CreateLayer(OutputParam(file_name));
  writer->SetUp(this->bottom_vec_, this->top_vec_);
  writer->Forward(this->bottom_vec_, this->top_vec_);
  {
    std::ofstream list(this->dir_ / "list.txt");
    list << file_name << "\n";
  }
  caffe::LayerParameter p;
  p.set_type("HDF5Data");
  p.add_top("data");
  p.add_top("label");
  p.mutable_hdf5_data_param()->set_source(this->dir_ / "list.txt");
  p.mutable_hdf5_data_param()->set_batch_size(3);
  auto reader = LayerRegistry<TypeParam>::CreateLayer(p);
  Blob<TypeParam> data, label;
  std::vector<Blob<TypeParam>*> tops{&data, &label};
  reader->SetUp({}, tops);
  reader->Forward({}, tops);
  EXPECT_EQ(data.shape(), (std::vector<int>{3, 3, 2, 4}));
  EXPECT_EQ(label.shape(), (std::vector<int>{3, 1, 1, 1}));
  for (int i = 0; i < data.count(); ++i) EXPECT_EQ(data.cpu_data()[i], this->data_.cpu_data()[i]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(label.cpu_data()[i], this->label_.cpu_data()[i]);
}

TYPED_TEST(HDF5OutputLayerTest, InANetWithAnEmptyBatch) {
  // Input -> HDF5Output, as a prototxt would have it; backward is forced
  // through the net and the layer propagates nothing. Then a batch of 0.
  const std::string file_name = this->dir_ / "net.h5";
  caffe::NetParameter param;
  ReadProtoFromTextString(
      "force_backward: true "
      "layer { name: 'in' type: 'Input' top: 'data' top: 'label' input_param { "
      "  shape { dim: 2 dim: 3 dim: 2 dim: 4 } shape { dim: 2 } } } "
      "layer { name: 'out' type: 'HDF5Output' bottom: 'data' bottom: 'label' "
      "  hdf5_output_param { file_name: '" +
          file_name + "' } }",
      "test net", &param);
  Net<TypeParam> net(param);
  this->MakeBatch(2);
  net.blob_by_name("data")->CopyFrom(this->data_);
  net.blob_by_name("label")->CopyFrom(this->label_);
  net.Forward();
  net.Backward();
  this->ExpectFileHolds(file_name);
  this->MakeBatch(0);
  net.blob_by_name("data")->Reshape(0, 3, 2, 4);
  net.blob_by_name("label")->Reshape(std::vector<int>{0});
  net.Forward();
  this->ExpectFileHolds(file_name);
}

TYPED_TEST(HDF5OutputLayerTest, Errors) {
  this->MakeBatch(2);
  // No file name; a directory that does not exist.
  HDF5OutputLayer<TypeParam> unnamed(OutputParam(""));
  EXPECT_THROW(unnamed.SetUp(this->bottom_vec_, this->top_vec_), Error);
  HDF5OutputLayer<TypeParam> nowhere(OutputParam(this->dir_ / "missing/out.h5"));
  try {
    nowhere.SetUp(this->bottom_vec_, this->top_vec_);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/out.h5"), std::string::npos) << e.what();
  }
  // Data and labels of different batch sizes: an error, the file untouched.
  const std::string file_name = this->dir_ / "out.h5";
  HDF5OutputLayer<TypeParam> layer(OutputParam(file_name));
  layer.SetUp(this->bottom_vec_, this->top_vec_);
  layer.Forward(this->bottom_vec_, this->top_vec_);
  Blob<TypeParam> three_labels(std::vector<int>{3});
  EXPECT_THROW(layer.Forward({&this->data_, &three_labels}, this->top_vec_), Error);
  this->ExpectFileHolds(file_name);
  EXPECT_FALSE(std::filesystem::exists(file_name + ".partial"));
}

}  // namespace
}  // namespace deepspark
