// An HDF5 handle (file, dataset, dataspace, type) closed when it goes out of
// scope, for the HDF5Data and HDF5Output layers. Set id to -1 after closing
// it by hand (to check the result of H5Fclose, which flushes).
#pragma once

#include <hdf5.h>

namespace deepspark {

struct H5Handle {
  H5Handle(hid_t handle, herr_t (*closer)(hid_t)) : id(handle), close(closer) {}
  H5Handle(H5Handle&& other) noexcept : id(other.id), close(other.close) { other.id = -1; }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() {
    if (id >= 0) close(id);
  }

  hid_t id;
  herr_t (*close)(hid_t);
};

}  // namespace deepspark
