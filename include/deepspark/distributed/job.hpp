// A distributed job's definition, as the server hands it out and a worker
// (or the Spark driver) adapts it: the solver with its train net inlined, and
// the Data layers' source and partition. Plain functions on protobuf
// messages; thread-safe as long as each message is used by one thread.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace deepspark {
namespace distributed {

// Reads a solver file and inlines its train net (net_param), so a worker
// needs no file but what the server sends. With `root` (a folder), the
// solver's relative paths (its nets, snapshot_prefix, and the nets' data
// sources and mean files) start from root instead of the current folder,
// as if the job ran there (Caffe's examples name paths from Caffe's root),
// and come back absolute.
caffe::SolverParameter ReadJobSolver(const std::string& solver_path, const std::string& root = "");

// Points the Data layers of `net` that run in `phase` at `source` (unless
// empty; its backend as found there: db::BackendOf) and sets their batch
// size (if > 0).
void SetDataSource(caffe::NetParameter* net, caffe::Phase phase, const std::string& source,
                   int batch_size = 0);
// Gives the Data layers of `net` that run in `phase` this partition.
void SetDataPartition(caffe::NetParameter* net, caffe::Phase phase,
                      const caffe::DataPartitionParameter& partition);

}  // namespace distributed
}  // namespace deepspark
