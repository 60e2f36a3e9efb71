#include "deepspark/layers/hdf5_output_layer.hpp"

#include <hdf5.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "deepspark/layer_factory.hpp"
#include "hdf5_handle.hpp"

namespace deepspark {
namespace {

// Caffe's legacy 4-D shape of a blob of at most 4 axes.
template <typename Dtype>
std::vector<hsize_t> LegacyShape(const Blob<Dtype>& blob, const char* name) {
  REQUIRE(blob.num_axes() <= 4) << "HDF5Output: the " << name << " blob has shape "
                                << blob.shape_string()
                                << "; Caffe's HDF5 files hold at most 4 axes";
  std::vector<hsize_t> dims(4, 1);
  for (int i = 0; i < blob.num_axes(); ++i) dims[i] = static_cast<hsize_t>(blob.shape(i));
  return dims;
}

template <typename Dtype>
void WriteDataset(hid_t file, const std::string& filename, const char* name,
                  const Blob<Dtype>& blob) {
  const std::vector<hsize_t> dims = LegacyShape(blob, name);
  const hid_t type = sizeof(Dtype) == sizeof(float) ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  H5Handle space{H5Screate_simple(4, dims.data(), nullptr), H5Sclose};
  REQUIRE(space.id >= 0) << "HDF5Output: cannot describe dataset " << name << " of " << filename;
  H5Handle dataset{H5Dcreate2(file, name, type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose};
  REQUIRE(dataset.id >= 0) << "HDF5Output: cannot create dataset " << name << " in " << filename;
  // An empty batch has nothing to write (and no data pointer to pass).
  if (blob.count() == 0) return;
  REQUIRE(H5Dwrite(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, blob.cpu_data()) >= 0)
      << "HDF5Output: cannot write dataset " << name << " to " << filename;
}

// Writes the datasets (none when data is null) to a new file `partial`.
template <typename Dtype>
void WritePartial(const std::string& partial, const Blob<Dtype>* data, const Blob<Dtype>* label) {
  H5Handle file{H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
  REQUIRE(file.id >= 0) << "HDF5Output: cannot create HDF5 file " << partial
                        << " (its directory must exist and be writable)";
  if (data != nullptr) {
    WriteDataset(file.id, partial, "data", *data);
    WriteDataset(file.id, partial, "label", *label);
  }
  // Closed here, not by the handle, so that a failed flush is reported.
  const herr_t closed = H5Fclose(file.id);
  file.id = -1;
  REQUIRE(closed >= 0) << "HDF5Output: cannot finish HDF5 file " << partial;
}

}  // namespace

template <typename Dtype>
void HDF5OutputLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  file_name_ = this->layer_param_.hdf5_output_param().file_name();
  REQUIRE(!file_name_.empty()) << "HDF5Output: hdf5_output_param.file_name is not set";
  WriteFile(nullptr, nullptr);
}

template <typename Dtype>
void HDF5OutputLayer<Dtype>::WriteFile(const Blob<Dtype>* data, const Blob<Dtype>* label) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // we report errors ourselves
  const std::string partial = file_name_ + ".partial";
  try {
    WritePartial(partial, data, label);
  } catch (const Error&) {
    std::remove(partial.c_str());
    throw;
  }
  if (std::rename(partial.c_str(), file_name_.c_str()) != 0) {
    const int error = errno;
    std::remove(partial.c_str());
    THROW_ERROR() << "HDF5Output: cannot rename " << partial << " to " << file_name_ << ": "
                  << std::strerror(error);
  }
}

template <typename Dtype>
void HDF5OutputLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                         const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 1 && bottom[1]->num_axes() >= 1 &&
          bottom[0]->shape(0) == bottom[1]->shape(0))
      << "HDF5Output: the data " << bottom[0]->shape_string() << " and the labels "
      << bottom[1]->shape_string() << " must have the same batch size";
  WriteFile(bottom[0], bottom[1]);
}

INSTANTIATE_CLASS(HDF5OutputLayer);
REGISTER_LAYER_CLASS(HDF5Output);

}  // namespace deepspark
