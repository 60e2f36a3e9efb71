// ReadJobSolver with a root: a solver whose paths start from Caffe's root
// (as the stock examples' do) read from anywhere, with no chdir.
#include <gtest/gtest.h>

#include <fstream>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/distributed/job.hpp"

namespace deepspark {
namespace distributed {
namespace {

TEST(JobSolverTest, RelativePathsStartFromTheRoot) {
  TempDir root;
  std::filesystem::create_directories(root / "examples/mnist");
  std::ofstream(root / "examples/mnist/net.prototxt")
      << "layer { name: 'd' type: 'Data' top: 'data' top: 'label'\n"
         "  data_param { source: 'examples/mnist/train_lmdb' batch_size: 4 }\n"
         "  transform_param { mean_file: 'data/mean.binaryproto' } }\n"
         "layer { name: 'i' type: 'ImageData' top: 'x' top: 'y'\n"
         "  image_data_param { source: '/abs/list.txt' root_folder: 'images/' } }\n";
  std::ofstream(root / "examples/mnist/solver.prototxt")
      << "net: 'examples/mnist/net.prototxt'\nbase_lr: 0.1\n"
         "snapshot_prefix: 'examples/mnist/lenet'\n";
  const caffe::SolverParameter param =
      ReadJobSolver(root / "examples/mnist/solver.prototxt", root.path());
  ASSERT_TRUE(param.has_net_param());
  EXPECT_FALSE(param.has_net());
  const auto& data = param.net_param().layer(0);
  EXPECT_EQ(data.data_param().source(), root / "examples/mnist/train_lmdb");
  EXPECT_EQ(data.transform_param().mean_file(), root / "data/mean.binaryproto");
  const auto& images = param.net_param().layer(1).image_data_param();
  EXPECT_EQ(images.source(), "/abs/list.txt");  // absolute paths stay
  EXPECT_EQ(images.root_folder(), root / "images/");
  EXPECT_EQ(param.snapshot_prefix(), root / "examples/mnist/lenet");
  // Without a root the net is looked for from the current folder (not there).
  EXPECT_THROW(ReadJobSolver(root / "examples/mnist/solver.prototxt"), Error);
}

}  // namespace
}  // namespace distributed
}  // namespace deepspark
