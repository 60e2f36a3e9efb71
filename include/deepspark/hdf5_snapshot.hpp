// Caffe's HDF5 snapshots (solver snapshot_format: HDF5; pycaffe's
// Net.save_hdf5/load_hdf5), read and written as Caffe lays them out:
//
//   weights (.caffemodel.h5): group "data", in it one group per layer (every
//     layer, in net order, even those without parameters), in each the
//     layer's parameter blobs as datasets "0", "1", ... of the blob's shape
//     and element type (float or double); a parameter shared from another
//     layer is written only by its owner. With write_diff, group "diff"
//     holds the gradients alike.
//   solver state (.solverstate.h5): scalar int datasets "iter" and
//     "current_step", string dataset "learned_net" (the weights file), group
//     "history" with the solver's history blobs as datasets "0", "1", ...
//
// The functions convert to and from the same protobuf messages the binary
// format uses, so loading and checking stay in one place (Net, Solver).
// Files are written under a temporary name and renamed: a crash leaves the
// old file or the new one, never half of one. Errors (unreadable file, a
// layout that is not Caffe's) throw deepspark::Error naming the file.
//
// Thread safety: HDF5 (the serial build) is not thread-safe; call these from
// one thread at a time.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

// Whether the file starts with HDF5's signature (as Caffe's H5Fis_hdf5).
bool IsHDF5File(const std::string& path);

// Weights: each layer group becomes a LayerParameter with its name and its
// datasets as blobs, in index order. A missing index below the highest one
// (a shared parameter) becomes an empty BlobProto (no shape, no values).
void ReadNetParamsFromHDF5File(const std::string& path, caffe::NetParameter* param);
// Writes param's layers (names and blobs); an empty BlobProto is skipped
// (the shared parameter Caffe does not write). Diffs go to "diff" if
// write_diff.
void WriteNetParamsToHDF5File(const caffe::NetParameter& param, const std::string& path,
                              bool write_diff);

// A .caffemodel of either format (HDF5 told apart by content, as Caffe's
// H5Fis_hdf5; otherwise binary protobuf, upgraded as needed).
void ReadNetParamsFromWeightsFile(const std::string& path, caffe::NetParameter* param);
// Whether a blob stands for a parameter left out of an HDF5 weights file
// (no shape, no values): see ReadNetParamsFromHDF5File.
bool IsAbsentBlob(const caffe::BlobProto& blob);

void ReadSolverStateFromHDF5File(const std::string& path, caffe::SolverState* state);
void WriteSolverStateToHDF5File(const caffe::SolverState& state, const std::string& path);

}  // namespace deepspark
