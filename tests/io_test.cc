// Tests of protobuf text/binary reading and writing (deepspark/io.hpp) on the
// real Caffe files in caffe-zoo and on small hand-made inputs.
#include "deepspark/io.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "deepspark/common.hpp"
#include "test_util.hpp"

namespace deepspark {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A fresh directory, removed with its contents at the end of the test. The
// fixtures are read-only, so tests that write copy into one of these.
class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "deepspark_io_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  // Runs f and returns the message of the deepspark::Error it throws.
  template <typename F>
  static std::string ErrorOf(F f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "no deepspark::Error thrown";
    return "";
  }
  bool HasTempFiles() const {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
    }
    return false;
  }
  std::string dir_;
};

TEST_F(IoTest, ReadsTrainedCaffemodels) {
  for (const char* rel : {"lenet-trained/lenet_iter_10000.caffemodel",
                          "trained/lenet_iter_1000.caffemodel"}) {
    caffe::NetParameter net;
    ReadNetParamsFromBinaryFile(CaffeZooDir() + "/" + rel, &net);
    EXPECT_EQ(net.layers_size(), 0) << rel;
    ASSERT_GT(net.layer_size(), 0) << rel;
    bool found_conv1 = false;
    for (const auto& l : net.layer()) {
      if (l.name() != "conv1") continue;
      found_conv1 = true;
      EXPECT_EQ(l.type(), "Convolution");
      ASSERT_EQ(l.blobs_size(), 2);
      ASSERT_EQ(l.blobs(0).shape().dim_size(), 4);
      EXPECT_EQ(l.blobs(0).shape().dim(0), 20);
      EXPECT_EQ(l.blobs(0).shape().dim(2), 5);
      EXPECT_EQ(l.blobs(0).data_size(), 20 * 1 * 5 * 5);
    }
    EXPECT_TRUE(found_conv1) << rel;
  }
}

TEST_F(IoTest, ReadsSolverState) {
  caffe::SolverState state;
  ReadProtoFromBinaryFile(CaffeZooDir() + "/trained/lenet_iter_1000.solverstate", &state);
  EXPECT_EQ(state.iter(), 1000);
  EXPECT_EQ(state.learned_net(), "examples/mnist/lenet_iter_1000.caffemodel");
  EXPECT_EQ(state.history_size(), 8);  // weight and bias of conv1, conv2, ip1, ip2
}

TEST_F(IoTest, CaffemodelReserializesByteIdentical) {
  const std::string src = CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel";
  caffe::NetParameter net;
  ReadProtoFromBinaryFile(src, &net);
  const std::string original = Slurp(src);
  std::string again;
  ASSERT_TRUE(net.SerializeToString(&again));
  EXPECT_TRUE(again == original) << "sizes " << again.size() << " vs " << original.size();
  // And through the writer.
  WriteProtoToBinaryFile(net, Path("copy.caffemodel"));
  EXPECT_TRUE(Slurp(Path("copy.caffemodel")) == original);
  EXPECT_FALSE(HasTempFiles());
}

TEST_F(IoTest, TextRoundTrip) {
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_train_test.prototxt", &net);
  WriteProtoToTextFile(net, Path("net.prototxt"));
  caffe::NetParameter back;
  ReadProtoFromTextFile(Path("net.prototxt"), &back);
  EXPECT_TRUE(MessageDifferencer::Equals(net, back));
  EXPECT_FALSE(HasTempFiles());

  caffe::SolverParameter solver;
  ReadSolverParamsFromTextFile(CaffeZooDir() + "/bvlc/examples/mnist/lenet_solver.prototxt",
                               &solver);
  WriteProtoToTextFile(solver, Path("solver.prototxt"));
  caffe::SolverParameter solver_back;
  ReadProtoFromTextFile(Path("solver.prototxt"), &solver_back);
  EXPECT_TRUE(MessageDifferencer::Equals(solver, solver_back));
}

TEST_F(IoTest, BinaryRoundTrip) {
  caffe::NetParameter net;
  ReadNetParamsFromTextFile(CaffeZooDir() + "/mtcnn/det1.prototxt", &net);
  caffe::BlobProto* blob = net.mutable_layer(1)->add_blobs();
  blob->mutable_shape()->add_dim(3);
  for (float v : {1.5f, -2.25f, 1e-8f}) blob->add_data(v);
  WriteProtoToBinaryFile(net, Path("det1.caffemodel"));
  caffe::NetParameter back;
  ReadProtoFromBinaryFile(Path("det1.caffemodel"), &back);
  EXPECT_TRUE(MessageDifferencer::Equals(net, back));
}

TEST_F(IoTest, ParsesFromString) {
  caffe::NetParameter net;
  ReadProtoFromTextString(
      "name: 'x' layer { name: \"a\" type: \"ReLU\" include: { phase: TRAIN } }", "inline",
      &net);
  EXPECT_EQ(net.name(), "x");
  ASSERT_EQ(net.layer_size(), 1);
  EXPECT_EQ(net.layer(0).include(0).phase(), caffe::TRAIN);
}

TEST_F(IoTest, UnknownFieldNamesFileLineColumnAndField) {
  const std::string file = Path("lenet.prototxt");
  Spit(file,
       "name: \"LeNet\"\n"
       "layer {\n"
       "  name: \"conv1\"\n"
       "  type: \"Convolution\"\n"
       "  convolution_param {\n"
       "    kernel_sizee: 5\n"
       "  }\n"
       "}\n");
  caffe::NetParameter net;
  const std::string msg = ErrorOf([&] { ReadProtoFromTextFile(file, &net); });
  EXPECT_EQ(msg.rfind(file + ":6:5: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("caffe.ConvolutionParameter"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"kernel_sizee\""), std::string::npos) << msg;
}

TEST_F(IoTest, SyntaxErrorNamesFileLineColumn) {
  const std::string file = Path("bad.prototxt");
  Spit(file, "name: \"x\"\nlayer {\n  name: \"a\"\n  type \"ReLU\"\n}\n");
  caffe::NetParameter net;
  const std::string msg = ErrorOf([&] { ReadNetParamsFromTextFile(file, &net); });
  EXPECT_EQ(msg.rfind(file + ":4:", 0), 0u) << msg;

  Spit(file, "name: \"x\"\nlayer {\n  name: \"a\"\n");  // unclosed brace
  const std::string eof = ErrorOf([&] { ReadNetParamsFromTextFile(file, &net); });
  EXPECT_EQ(eof.rfind(file + ":", 0), 0u) << eof;
}

TEST_F(IoTest, SlashSlashCommentIsAnError) {
  const std::string file = Path("comment.prototxt");
  Spit(file, "# a fine comment\nname: \"x\"  // not a Caffe comment\n");
  caffe::NetParameter net;
  const std::string msg = ErrorOf([&] { ReadProtoFromTextFile(file, &net); });
  EXPECT_EQ(msg.rfind(file + ":2:", 0), 0u) << msg;
}

TEST_F(IoTest, MissingFile) {
  caffe::NetParameter net;
  const std::string file = Path("nope.prototxt");
  EXPECT_EQ(ErrorOf([&] { ReadProtoFromTextFile(file, &net); }),
            "cannot open " + file + ": No such file or directory");
  EXPECT_EQ(ErrorOf([&] { ReadNetParamsFromBinaryFile(file, &net); }),
            "cannot open " + file + ": No such file or directory");
  caffe::SolverParameter solver;
  EXPECT_EQ(ErrorOf([&] { ReadSolverParamsFromTextFile(file, &solver); }),
            "cannot open " + file + ": No such file or directory");
  EXPECT_FALSE(FileExists(file));
}

TEST_F(IoTest, TruncatedCaffemodel) {
  const std::string file = Path("lenet_iter_1000.caffemodel");
  fs::copy_file(CaffeZooDir() + "/trained/lenet_iter_1000.caffemodel", file);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  // Half way through is inside ip1's packed weights (most of the file).
  fs::resize_file(file, fs::file_size(file) / 2);
  caffe::NetParameter net;
  EXPECT_EQ(ErrorOf([&] { ReadNetParamsFromBinaryFile(file, &net); }),
            file + ": not a valid caffe.NetParameter (truncated or corrupt)");
}

TEST_F(IoTest, CorruptBinary) {
  const std::string file = Path("garbage.binaryproto");
  Spit(file, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11));
  caffe::BlobProto blob;
  EXPECT_EQ(ErrorOf([&] { ReadProtoFromBinaryFile(file, &blob); }),
            file + ": not a valid caffe.BlobProto (truncated or corrupt)");
}

TEST_F(IoTest, FailedWriteThrowsAndLeavesNoTempFile) {
  caffe::NetParameter net;
  net.set_name("x");
  // The target is a directory: the rename fails after the temp file exists.
  fs::create_directory(Path("target"));
  const std::string msg =
      ErrorOf([&] { WriteProtoToBinaryFile(net, Path("target")); });
  EXPECT_EQ(msg.rfind("cannot write " + Path("target") + ": ", 0), 0u) << msg;
  EXPECT_FALSE(HasTempFiles());
  // The folder does not exist: the temp file cannot even be created.
  const std::string missing = Path("no/such/dir/net.prototxt");
  EXPECT_EQ(ErrorOf([&] { WriteProtoToTextFile(net, missing); }),
            "cannot write " + missing + ": No such file or directory");
}

TEST_F(IoTest, WriteReplacesExistingFile) {
  const std::string file = Path("f.txt");
  WriteFileAtomically(file, "first version, longer");
  WriteFileAtomically(file, "second");
  EXPECT_EQ(Slurp(file), "second");
  EXPECT_TRUE(FileExists(file));
  EXPECT_FALSE(HasTempFiles());
}

TEST_F(IoTest, OtherCaffeBinariesReserializeByteIdentical) {
  // V1 (legacy 4-D blob dims) snapshots and the MTCNN models: the schema
  // must keep every field, in Caffe's order, for these to round-trip.
  for (const char* rel : {"legacy-v1-lenet-2014/lenet_iter_10000", "mtcnn/det1.caffemodel",
                          "mtcnn/det4.caffemodel"}) {
    const std::string src = CaffeZooDir() + "/" + rel;
    caffe::NetParameter net;
    ReadProtoFromBinaryFile(src, &net);
    std::string again;
    ASSERT_TRUE(net.SerializeToString(&again));
    EXPECT_TRUE(again == Slurp(src)) << rel;
  }
  caffe::SolverState state;
  ReadProtoFromBinaryFile(CaffeZooDir() + "/legacy-v1-lenet-2014/lenet_iter_10000.solverstate",
                          &state);
  EXPECT_EQ(state.iter(), 10000);
}

TEST_F(IoTest, ReadsBinaryOver64MB) {
  // Protobuf's default limit is 64 MB; Caffe raises it to 2 GB - 1.
  caffe::BlobProto blob;
  blob.mutable_shape()->add_dim(17 << 20);
  blob.mutable_data()->Resize(17 << 20, 0.5f);
  WriteProtoToBinaryFile(blob, Path("big.binaryproto"));
  ASSERT_GT(fs::file_size(Path("big.binaryproto")), 64u << 20);
  caffe::BlobProto back;
  ReadProtoFromBinaryFile(Path("big.binaryproto"), &back);
  ASSERT_EQ(back.data_size(), 17 << 20);
  EXPECT_EQ(back.data(12345), 0.5f);
}

TEST_F(IoTest, DirectoryIsNotAFile) {
  caffe::NetParameter net;
  EXPECT_EQ(ErrorOf([&] { ReadProtoFromTextFile(dir_, &net); }),
            "cannot open " + dir_ + ": Is a directory");
}

}  // namespace
}  // namespace deepspark
