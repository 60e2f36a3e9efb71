// Reading and writing Caffe's files: protobuf text (.prototxt) and binary
// (.caffemodel, .solverstate, .binaryproto), with the upgrades Caffe applies
// when reading (V0/V1 nets, solver_type enum, snapshot_prefix).
//
// Every reader throws deepspark::Error on failure with a message naming the
// file (and for text, line:column and the offending field). Writers write to
// "<file>.tmp.<pid>" and rename, so a crash never leaves a half-written file.
// Thread safety: all functions are re-entrant.
#pragma once

#include <string>

#include "deepspark/proto/caffe.pb.h"

namespace google {
namespace protobuf {
class Message;
}
}  // namespace google

namespace deepspark {

// A whole file's bytes; a missing or unreadable file throws naming it.
std::string ReadFileToString(const std::string& filename);
void ReadProtoFromTextFile(const std::string& filename, google::protobuf::Message* proto);
// Parses text held in memory; `source` names it in error messages.
void ReadProtoFromTextString(const std::string& text, const std::string& source,
                             google::protobuf::Message* proto);
void ReadProtoFromBinaryFile(const std::string& filename, google::protobuf::Message* proto);
void WriteProtoToTextFile(const google::protobuf::Message& proto, const std::string& filename);
void WriteProtoToBinaryFile(const google::protobuf::Message& proto, const std::string& filename);

// Parse, then UpgradeNetAsNeeded.
void ReadNetParamsFromTextFile(const std::string& filename, caffe::NetParameter* param);
void ReadNetParamsFromBinaryFile(const std::string& filename, caffe::NetParameter* param);
// Parse, then UpgradeSolverAsNeeded and the snapshot_prefix rule.
void ReadSolverParamsFromTextFile(const std::string& filename, caffe::SolverParameter* param);

// Writes bytes atomically: a fresh temporary beside `filename` (created
// with O_EXCL|O_NOFOLLOW, so nothing planted there is followed or reused, and
// with `mode` (less the umask) from the start), fsync, then rename over
// `filename` (a symlink there is replaced, not written through). Throws on
// failure, leaving no temporary behind.
void WriteFileAtomically(const std::string& filename, const std::string& bytes,
                         unsigned mode = 0644);
// Whether a file can be written at `path` (opened for writing, created if
// missing, then removed): checks a folder before work that will need it.
bool CanCreateFile(const std::string& path);
bool FileExists(const std::string& filename);

}  // namespace deepspark
