#include "deepspark/layers/hdf5_data_layer.hpp"

#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "deepspark/db.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "hdf5_handle.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
void ReadDataset(hid_t file, const std::string& filename, const std::string& name,
                 Blob<Dtype>* blob) {
  REQUIRE(H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0)
      << "HDF5 file " << filename << " has no dataset '" << name << "' (datasets are named "
      << "after the top blobs)";
  H5Handle dataset{H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose};
  REQUIRE(dataset.id >= 0) << "HDF5 file " << filename << ": cannot open dataset " << name;
  H5Handle space{H5Dget_space(dataset.id), H5Sclose};
  const int ndims = H5Sget_simple_extent_ndims(space.id);
  REQUIRE(ndims >= 1) << "HDF5 file " << filename << ": dataset " << name << " has no dimensions";
  std::vector<hsize_t> dims(ndims);
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  std::vector<int> shape;
  for (hsize_t d : dims) {
    REQUIRE(d > 0 && d < (1u << 31))
        << "HDF5 file " << filename << ": dataset " << name << " has a bad dimension " << d;
    shape.push_back(static_cast<int>(d));
  }
  blob->Reshape(shape);
  hid_t type = sizeof(Dtype) == sizeof(float) ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  REQUIRE(H5Dread(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, blob->mutable_cpu_data()) >= 0)
      << "HDF5 file " << filename << ": cannot read dataset " << name;
}

}  // namespace

template <typename Dtype>
void HDF5DataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                      const std::vector<Blob<Dtype>*>& top) {
  const caffe::HDF5DataParameter& param = this->layer_param_.hdf5_data_param();
  REQUIRE(param.batch_size() > 0) << "hdf5_data_param.batch_size must be positive";
  REQUIRE(this->layer_param_.top_size() == static_cast<int>(top.size()))
      << "HDF5Data needs the top names (they name the datasets)";
  std::ifstream list(param.source());
  REQUIRE(list.good()) << "cannot open HDF5 file list " << param.source();
  const std::filesystem::path list_dir = std::filesystem::path(param.source()).parent_path();
  files_.clear();
  std::string line;
  while (std::getline(list, line)) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    std::string name = line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
    if (!std::filesystem::exists(name) && std::filesystem::path(name).is_relative() &&
        std::filesystem::exists(list_dir / name)) {
      name = (list_dir / name).string();
    }
    files_.push_back(name);
  }
  REQUIRE(!files_.empty()) << "HDF5 file list " << param.source() << " is empty";
  if (RandomSeed() >= 0) {
    seed_ = static_cast<uint64_t>(RandomSeed());
  } else {
    std::random_device device;
    seed_ = (uint64_t(device()) << 32) | device();
  }
  data_.clear();
  for (size_t i = 0; i < top.size(); ++i) data_.push_back(std::make_unique<Blob<Dtype>>());
  Restart();
  const int batch_size = param.batch_size();
  for (size_t i = 0; i < top.size(); ++i) {
    std::vector<int> shape = data_[i]->shape();
    shape[0] = batch_size;
    top[i]->Reshape(shape);
  }
}

template <typename Dtype>
void HDF5DataLayer<Dtype>::Restart() {
  file_step_ = 0;
  LoadFile(0);
}

template <typename Dtype>
void HDF5DataLayer<Dtype>::LoadFile(uint64_t file_step) {
  const bool shuffle = this->layer_param_.hdf5_data_param().shuffle();
  const uint64_t num_files = files_.size();
  const uint64_t pass = file_step / num_files;
  if (shuffle && (file_perm_.empty() || file_step % num_files == 0)) {
    file_perm_ = SeededPermutation(num_files, MixSeed(seed_, pass));
  }
  const std::string& filename =
      files_[shuffle ? file_perm_[file_step % num_files] : file_step % num_files];
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // we report errors ourselves
  H5Handle file{H5Fopen(filename.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  REQUIRE(file.id >= 0) << "cannot open HDF5 file " << filename;
  for (size_t i = 0; i < data_.size(); ++i) {
    ReadDataset(file.id, filename, this->layer_param_.top(i), data_[i].get());
    REQUIRE(data_[i]->shape(0) == data_[0]->shape(0))
        << "HDF5 file " << filename << ": datasets " << this->layer_param_.top(0) << " and "
        << this->layer_param_.top(i) << " have different numbers of rows";
  }
  rows_ = data_[0]->shape(0);
  current_row_ = 0;
  file_step_ = file_step;
  if (shuffle) {
    row_perm_ = SeededPermutation(rows_, MixSeed(MixSeed(seed_, pass), file_step + 1));
  }
}

template <typename Dtype>
void HDF5DataLayer<Dtype>::SeekData(uint64_t batches) {
  Restart();
  uint64_t skip = batches * this->layer_param_.hdf5_data_param().batch_size();
  while (skip >= static_cast<uint64_t>(rows_ - current_row_)) {
    skip -= rows_ - current_row_;
    LoadFile(file_step_ + 1);
  }
  current_row_ += static_cast<int>(skip);
}

template <typename Dtype>
void HDF5DataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  const int batch_size = this->layer_param_.hdf5_data_param().batch_size();
  const bool shuffle = this->layer_param_.hdf5_data_param().shuffle();
  for (size_t i = 0; i < top.size(); ++i) {
    std::vector<int> shape = data_[i]->shape();
    shape[0] = batch_size;
    top[i]->Reshape(shape);
  }
  for (int b = 0; b < batch_size; ++b) {
    if (current_row_ == rows_) LoadFile(file_step_ + 1);
    const int row = shuffle ? row_perm_[current_row_] : current_row_;
    for (size_t i = 0; i < top.size(); ++i) {
      const int dim = data_[i]->count(1);
      REQUIRE(top[i]->count(1) == dim)
          << "HDF5 dataset " << this->layer_param_.top(i) << " changes shape between files";
      caffe_copy(dim, data_[i]->cpu_data() + static_cast<size_t>(row) * dim,
                 top[i]->mutable_cpu_data() + static_cast<size_t>(b) * dim);
    }
    ++current_row_;
  }
}

INSTANTIATE_CLASS(HDF5DataLayer);
REGISTER_LAYER_CLASS(HDF5Data);

}  // namespace deepspark
