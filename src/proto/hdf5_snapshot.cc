#include "deepspark/hdf5_snapshot.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../layers/hdf5_handle.hpp"
#include "deepspark/common.hpp"
#include "deepspark/io.hpp"

namespace deepspark {
namespace {

// Group members in creation order where the file tracks it, else by name;
// the datasets' names are indices, sorted here numerically.
std::vector<std::string> Members(hid_t group, const std::string& path, const std::string& what) {
  H5G_info_t info;
  REQUIRE(H5Gget_info(group, &info) >= 0) << path << ": cannot list " << what;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n =
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    REQUIRE(n >= 0) << path << ": cannot read the names in " << what;
    std::string name(static_cast<size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<size_t>(n));
    names.push_back(name);
  }
  return names;
}

// The index a dataset's name spells ("0", "1", ...), or -1.
int IndexName(const std::string& name) {
  if (name.empty() || name.size() > 6) return -1;
  for (char c : name)
    if (c < '0' || c > '9') return -1;
  return std::stoi(name);
}

// A dataset as a BlobProto: its shape, and its values as data (float) or
// double_data (double), which Blob::FromProto reads either way.
void ReadDataset(hid_t group, const std::string& name, const std::string& where,
                 caffe::BlobProto* blob) {
  H5Handle dataset{H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose};
  REQUIRE(dataset.id >= 0) << where << ": cannot open dataset " << name;
  H5Handle space{H5Dget_space(dataset.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id);
  REQUIRE(rank >= 0 && rank <= 32) << where << ": dataset " << name << " has no usable shape";
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  uint64_t count = 1;
  for (hsize_t d : dims) {
    blob->mutable_shape()->add_dim(static_cast<int64_t>(d));
    count *= d;
    REQUIRE(count <= (uint64_t{1} << 31)) << where << ": dataset " << name << " is too large";
  }
  H5Handle type{H5Dget_type(dataset.id), H5Tclose};
  REQUIRE(H5Tget_class(type.id) == H5T_FLOAT)
      << where << ": dataset " << name << " is not floating point (Caffe writes float or double)";
  if (H5Tget_size(type.id) == sizeof(double)) {
    blob->mutable_double_data()->Resize(static_cast<int>(count), 0.0);
    REQUIRE(count == 0 || H5Dread(dataset.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                  blob->mutable_double_data()->mutable_data()) >= 0)
        << where << ": cannot read dataset " << name;
  } else {
    blob->mutable_data()->Resize(static_cast<int>(count), 0.0f);
    REQUIRE(count == 0 || H5Dread(dataset.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                  blob->mutable_data()->mutable_data()) >= 0)
        << where << ": cannot read dataset " << name;
  }
}

// The BlobProto's values (data, else double_data; diff/double_diff if
// diff) as a dataset of its shape, float or double as they are held.
void WriteDataset(hid_t group, const std::string& name, const caffe::BlobProto& blob, bool diff,
                  const std::string& where) {
  std::vector<hsize_t> dims;
  if (blob.has_shape()) {
    for (int64_t d : blob.shape().dim()) dims.push_back(static_cast<hsize_t>(d));
  } else {  // the legacy 4-d fields
    dims = {static_cast<hsize_t>(blob.num()), static_cast<hsize_t>(blob.channels()),
            static_cast<hsize_t>(blob.height()), static_cast<hsize_t>(blob.width())};
  }
  const auto& floats = diff ? blob.diff() : blob.data();
  const auto& doubles = diff ? blob.double_diff() : blob.double_data();
  const bool is_double = floats.empty() && !doubles.empty();
  const hid_t type = is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  H5Handle space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  REQUIRE(space.id >= 0) << where << ": cannot describe dataset " << name;
  H5Handle dataset{
      H5Dcreate2(group, name.c_str(), type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose};
  REQUIRE(dataset.id >= 0) << where << ": cannot create dataset " << name;
  const void* values = is_double ? static_cast<const void*>(doubles.data())
                                 : static_cast<const void*>(floats.data());
  if ((is_double ? doubles.size() : floats.size()) == 0) return;
  REQUIRE(H5Dwrite(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0)
      << where << ": cannot write dataset " << name;
}

H5Handle CreateGroup(hid_t parent, const std::string& name, const std::string& where) {
  H5Handle group{H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
  REQUIRE(group.id >= 0) << where << ": cannot create group " << name;
  return group;
}

H5Handle OpenGroup(hid_t parent, const std::string& name, const std::string& where) {
  H5Handle group{H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose};
  REQUIRE(group.id >= 0) << where << ": has no group \"" << name
                         << "\" (not a Caffe HDF5 snapshot?)";
  return group;
}

H5Handle OpenFile(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported here
  REQUIRE(IsHDF5File(path)) << path << ": not an HDF5 file (or cannot be read)";
  H5Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  REQUIRE(file.id >= 0) << path << ": cannot open the HDF5 file";
  return file;
}

// Writes a new file under a temporary name by `fill`, closes it (reporting a
// failed flush), and renames it over `path`.
void WriteFileAtomically(const std::string& path, const std::function<void(hid_t)>& fill) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string partial = path + ".tmp." + std::to_string(getpid());
  std::remove(partial.c_str());
  try {
    H5Handle file{H5Fcreate(partial.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    REQUIRE(file.id >= 0) << "cannot create " << partial
                          << " (its directory must exist and be writable)";
    fill(file.id);
    const herr_t closed = H5Fclose(file.id);
    file.id = -1;
    REQUIRE(closed >= 0) << "cannot finish HDF5 file " << partial;
  } catch (const Error&) {
    std::remove(partial.c_str());
    throw;
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(partial.c_str());
    THROW_ERROR() << "cannot rename " << partial << " to " << path << ": " << std::strerror(error);
  }
}

int ReadInt(hid_t file, const char* name, const std::string& path) {
  H5Handle dataset{H5Dopen2(file, name, H5P_DEFAULT), H5Dclose};
  REQUIRE(dataset.id >= 0) << path << ": has no dataset \"" << name << "\"";
  H5Handle space{H5Dget_space(dataset.id), H5Sclose};
  REQUIRE(H5Sget_simple_extent_npoints(space.id) == 1)
      << path << ": dataset \"" << name << "\" is not one number";
  int value = 0;
  REQUIRE(H5Dread(dataset.id, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0)
      << path << ": cannot read \"" << name << "\" as an integer";
  return value;
}

void WriteInt(hid_t file, const char* name, int value, const std::string& where) {
  H5Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  H5Handle dataset{
      H5Dcreate2(file, name, H5T_NATIVE_INT, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose};
  REQUIRE(dataset.id >= 0 &&
          H5Dwrite(dataset.id, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0)
      << where << ": cannot write \"" << name << "\"";
}

// A fixed-length, NUL-terminated C string in a scalar dataset (as HDF5's
// H5LTmake_dataset_string writes it, which Caffe uses).
void WriteString(hid_t file, const char* name, const std::string& value, const std::string& where) {
  H5Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, value.size() + 1);
  H5Tset_strpad(type.id, H5T_STR_NULLTERM);
  H5Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  H5Handle dataset{H5Dcreate2(file, name, type.id, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose};
  REQUIRE(dataset.id >= 0 &&
          H5Dwrite(dataset.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()) >= 0)
      << where << ": cannot write \"" << name << "\"";
}

std::string ReadString(hid_t file, const char* name, const std::string& path) {
  H5Handle dataset{H5Dopen2(file, name, H5P_DEFAULT), H5Dclose};
  REQUIRE(dataset.id >= 0) << path << ": has no dataset \"" << name << "\"";
  H5Handle type{H5Dget_type(dataset.id), H5Tclose};
  REQUIRE(H5Tget_class(type.id) == H5T_STRING && !H5Tis_variable_str(type.id))
      << path << ": \"" << name << "\" is not a fixed-length string";
  const size_t size = H5Tget_size(type.id);
  REQUIRE(size > 0 && size < (1u << 20)) << path << ": \"" << name << "\" has a bad length";
  std::string value(size, '\0');
  REQUIRE(H5Dread(dataset.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) >= 0)
      << path << ": cannot read \"" << name << "\"";
  value.resize(std::strlen(value.c_str()));
  return value;
}

// Datasets "0".."k-1" of a group into blobs; a missing index below the
// highest present one leaves an empty BlobProto at its place.
void ReadIndexedBlobs(hid_t group, const std::string& where,
                      google::protobuf::RepeatedPtrField<caffe::BlobProto>* blobs) {
  std::map<int, std::string> indexed;
  for (const std::string& name : Members(group, where, "a group")) {
    const int index = IndexName(name);
    REQUIRE(index >= 0) << where << ": member \"" << name
                        << "\" is not a blob index (Caffe names them 0, 1, ...)";
    indexed[index] = name;
  }
  if (indexed.empty()) return;
  for (int i = 0; i <= indexed.rbegin()->first; ++i) {
    caffe::BlobProto* blob = blobs->Add();
    if (indexed.count(i)) ReadDataset(group, indexed[i], where, blob);
  }
}

}  // namespace

bool IsAbsentBlob(const caffe::BlobProto& blob) {
  return !blob.has_shape() && blob.data_size() == 0 && blob.double_data_size() == 0 &&
         !blob.has_num() && !blob.has_channels() && !blob.has_height() && !blob.has_width();
}

void ReadNetParamsFromWeightsFile(const std::string& path, caffe::NetParameter* param) {
  if (IsHDF5File(path)) {
    ReadNetParamsFromHDF5File(path, param);
  } else {
    ReadNetParamsFromBinaryFile(path, param);
  }
}

bool IsHDF5File(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return H5Fis_hdf5(path.c_str()) > 0;
}

void ReadNetParamsFromHDF5File(const std::string& path, caffe::NetParameter* param) {
  param->Clear();
  H5Handle file = OpenFile(path);
  H5Handle data = OpenGroup(file.id, "data", path);
  // Layer groups are listed by name (Caffe's files do not track creation
  // order); matching is by name, so order does not matter.
  for (const std::string& layer_name : Members(data.id, path, "group \"data\"")) {
    H5Handle layer = OpenGroup(data.id, layer_name, path);
    caffe::LayerParameter* out = param->add_layer();
    out->set_name(layer_name);
    ReadIndexedBlobs(layer.id, path + ": layer \"" + layer_name + "\"", out->mutable_blobs());
  }
}

void WriteNetParamsToHDF5File(const caffe::NetParameter& param, const std::string& path,
                              bool write_diff) {
  WriteFileAtomically(path, [&](hid_t file) {
    for (const char* kind : {"data", "diff"}) {
      const bool diff = kind[1] == 'i';
      if (diff && !write_diff) continue;
      H5Handle top = CreateGroup(file, kind, path);
      for (const auto& layer : param.layer()) {
        const std::string where = path + ": layer \"" + layer.name() + "\"";
        REQUIRE(H5Lexists(top.id, layer.name().c_str(), H5P_DEFAULT) <= 0)
            << where << " appears twice";
        H5Handle group = CreateGroup(top.id, layer.name(), path);
        for (int i = 0; i < layer.blobs_size(); ++i) {
          if (IsAbsentBlob(layer.blobs(i))) continue;  // shared: its owner writes it
          WriteDataset(group.id, std::to_string(i), layer.blobs(i), diff, where);
        }
      }
    }
  });
}

void ReadSolverStateFromHDF5File(const std::string& path, caffe::SolverState* state) {
  state->Clear();
  H5Handle file = OpenFile(path);
  state->set_iter(ReadInt(file.id, "iter", path));
  if (H5Lexists(file.id, "learned_net", H5P_DEFAULT) > 0) {
    state->set_learned_net(ReadString(file.id, "learned_net", path));
  }
  state->set_current_step(ReadInt(file.id, "current_step", path));
  H5Handle history = OpenGroup(file.id, "history", path);
  ReadIndexedBlobs(history.id, path + ": history", state->mutable_history());
  for (int i = 0; i < state->history_size(); ++i) {
    REQUIRE(!IsAbsentBlob(state->history(i))) << path << ": history blob " << i << " is missing";
  }
}

void WriteSolverStateToHDF5File(const caffe::SolverState& state, const std::string& path) {
  WriteFileAtomically(path, [&](hid_t file) {
    WriteInt(file, "iter", state.iter(), path);
    WriteString(file, "learned_net", state.learned_net(), path);
    WriteInt(file, "current_step", state.current_step(), path);
    H5Handle history = CreateGroup(file, "history", path);
    for (int i = 0; i < state.history_size(); ++i) {
      WriteDataset(history.id, std::to_string(i), state.history(i), false, path + ": history");
    }
  });
}

}  // namespace deepspark
