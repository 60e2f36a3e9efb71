// `deepspark`: Caffe's command line plus the distributed roles
// (command_line.cc).
#include <google/protobuf/stubs/common.h>

#include "commands.hpp"

int main(int argc, char** argv) {
  const int code = deepspark::tools::RunCommandLine(argc, argv);
  google::protobuf::ShutdownProtobufLibrary();
  return code;
}
