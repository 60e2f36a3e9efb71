// An HDF5 handle (file, dataset, dataspace, type) closed when it goes out of
// scope, for the HDF5Data and HDF5Output layers. Set id to -1 after closing
// it by hand (to check the result of H5Fclose, which flushes).
#pragma once

#include <hdf5.h>

namespace deepspark {

struct H5Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~H5Handle() {
    if (id >= 0) close(id);
  }
};

}  // namespace deepspark
