// The GPU backend's base (gpu.hpp, SyncedMemory's device head, gpu_math.hpp,
// device-query, --gpu). The tests that need a device report SKIPPED, with the
// reason, where there is none (this CI); scripts/gpu-check.sh runs them on a
// machine with one. The others run everywhere: --gpu parsing, errors without
// a device, and faults injected through the runtime interface.
#include "deepspark/gpu.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/distributed/worker.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/syncedmem.hpp"
#include "gpu_test_util.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using plumbing_test::ExpectErrorWith;

namespace {

// Output and exit status of a shell command.
std::pair<std::string, int> RunShell(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// A runtime whose every call fails as a lost device would: what the engine
// must survive with a clear error and no half-done state.
class FailingGpu : public GpuRuntime {
 public:
  int DeviceCount(std::string* why) override {
    if (why) *why = "injected: device lost";
    return 1;
  }
  GpuDeviceProperties Properties(int) override { Fail("properties"); }
  void SetDevice(int) override { Fail("set device"); }
  int CurrentDevice() override { return 0; }
  void* Malloc(size_t bytes) override {
    Fail(("out of GPU memory: cannot allocate " + std::to_string(bytes) + " bytes").c_str());
  }
  void Free(void*) override {}
  void Memset(void*, int, size_t) override { Fail("memset"); }
  void Memcpy(void*, const void*, size_t, Copy) override { Fail("memcpy"); }

 private:
  [[noreturn]] static void Fail(const char* what) {
    throw Error(std::string(what) + ": injected fault");
  }
};

struct RuntimeOverride {
  explicit RuntimeOverride(GpuRuntime* runtime) : previous(SetGpuRuntimeForTesting(runtime)) {}
  ~RuntimeOverride() { SetGpuRuntimeForTesting(previous); }
  GpuRuntime* previous;
};

// A runtime that has `count` devices and does nothing else: enough for the
// choice of a device, which only counts.
class CountOnlyGpu : public FailingGpu {
 public:
  explicit CountOnlyGpu(int count) : count_(count) {}
  int DeviceCount(std::string* why) override {
    if (why) *why = count_ ? "" : "injected: none";
    return count_;
  }

 private:
  int count_;
};

// "Device" memory that lives in host memory: SyncedMemory's and Blob's copy
// logic (which side is newer, when to copy) runs through it where there is
// no GPU. Counts the copies each way.
class HostBackedGpu : public GpuRuntime {
 public:
  int DeviceCount(std::string*) override { return 1; }
  GpuDeviceProperties Properties(int) override { return GpuDeviceProperties(); }
  void SetDevice(int) override {}
  int CurrentDevice() override { return 0; }
  void* Malloc(size_t bytes) override { return std::malloc(bytes ? bytes : 1); }
  void Free(void* ptr) override { std::free(ptr); }
  void Memset(void* ptr, int value, size_t bytes) override { std::memset(ptr, value, bytes); }
  void Memcpy(void* dst, const void* src, size_t bytes, Copy kind) override {
    std::memcpy(dst, src, bytes);
    ++copies[static_cast<int>(kind)];
  }
  int copies[3] = {0, 0, 0};  // by Copy: to the device, to the host, within
};

}  // namespace

// Distributed workers: rank i takes ids[i mod their count] (Caffe's --gpu
// spelling), or every device of the machine under solver_mode GPU.
TEST(GpuFlagTest, WorkerTakesItsRankModTheIds) {
  CountOnlyGpu three(3);
  RuntimeOverride use(&three);
  EXPECT_EQ(distributed::WorkerGpu("all", false, 0), 0);
  EXPECT_EQ(distributed::WorkerGpu("all", false, 4), 1);
  EXPECT_EQ(distributed::WorkerGpu("2,0", false, 2), 2);
  EXPECT_EQ(distributed::WorkerGpu("2,0", false, 3), 0);
  EXPECT_EQ(distributed::WorkerGpu("1", true, 5), 1);
  EXPECT_EQ(distributed::WorkerGpu("", true, 5), 2);
  EXPECT_EQ(distributed::WorkerGpu("", false, 5), -1);
  ExpectErrorWith([] { distributed::WorkerGpu("3", false, 0); },
                  {"--gpu=3", "device 3 does not exist"});
  CountOnlyGpu none(0);
  RuntimeOverride use_none(&none);
  EXPECT_EQ(distributed::WorkerGpu("", true, 1), -1);  // solver_mode GPU here: the CPU, warned
  ExpectErrorWith([] { distributed::WorkerGpu("all", false, 1); }, {"--gpu=all", "injected: none"});
}

TEST(GpuFlagTest, IdsAreCheckedAgainstTheDevices) {
  EXPECT_EQ(ParseGpuIds("0", 2, ""), (std::vector<int>{0}));
  EXPECT_EQ(ParseGpuIds("1,0", 2, ""), (std::vector<int>{1, 0}));
  EXPECT_EQ(ParseGpuIds("all", 3, ""), (std::vector<int>{0, 1, 2}));
  ExpectErrorWith([] { ParseGpuIds("2", 2, ""); },
                  {"--gpu=2", "device 2 does not exist", "2 devices: 0..1"});
  ExpectErrorWith([] { ParseGpuIds("0,x", 2, ""); }, {"--gpu=0,x", "\"x\" is not a device id"});
  ExpectErrorWith([] { ParseGpuIds("-1", 2, ""); }, {"\"-1\" is not a device id"});
  ExpectErrorWith([] { ParseGpuIds("0,0", 2, ""); }, {"device 0 given twice"});
  ExpectErrorWith([] { ParseGpuIds("all", 0, "no driver"); },
                  {"--gpu=all", "no CUDA device (no driver)"});
  ExpectErrorWith([] { ParseGpuIds("0", 0, "no driver"); }, {"--gpu=0", "no driver"});
  ExpectErrorWith([] { ParseGpuIds("", 1, ""); }, {"--gpu: empty"});
}

TEST(GpuRuntimeTest, NoDeviceSaysWhy) {
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  if (count > 0) GTEST_SKIP() << count << " GPU(s) here";
  EXPECT_FALSE(why.empty());
  if (!CudaBuild()) {
    EXPECT_NE(why.find("no CUDA backend"), std::string::npos) << why;
  }
  // The device side of memory then fails with the reason; the host side is
  // untouched.
  SyncedMemory memory(64);
  static_cast<char*>(memory.mutable_cpu_data())[0] = 7;
  try {
    memory.gpu_data();
    ADD_FAILURE() << "gpu_data without a GPU";
  } catch (const Error& e) {
    EXPECT_FALSE(std::string(e.what()).empty());
  }
  EXPECT_EQ(memory.head(), SyncedMemory::Head::HEAD_AT_CPU);
  EXPECT_EQ(static_cast<const char*>(memory.cpu_data())[0], 7);
}

// A failed device allocation is an error naming the size, and the memory's
// host copy stays as it was (the head does not move).
TEST(GpuRuntimeTest, FailedDeviceAllocationLeavesTheHostCopy) {
  FailingGpu failing;
  RuntimeOverride use(&failing);
  Blob<float> blob({2, 3});
  blob.mutable_cpu_data()[5] = 1.5f;
  ExpectErrorWith([&] { blob.gpu_data(); }, {"out of GPU memory", "24 bytes"});
  EXPECT_EQ(blob.data()->head(), SyncedMemory::Head::HEAD_AT_CPU);
  EXPECT_EQ(blob.cpu_data()[5], 1.5f);
  SyncedMemory fresh(16);
  ExpectErrorWith([&] { fresh.mutable_gpu_data(); }, {"out of GPU memory"});
  EXPECT_EQ(fresh.head(), SyncedMemory::Head::UNINITIALIZED);
  EXPECT_NE(fresh.cpu_data(), nullptr);  // still usable on the host
}

// cuBLAS is loaded on first use, not linked: loading it and finding every
// function needs no device, so it is checked here too.
TEST(GpuRuntimeTest, MathLibrariesLoad) {
  if (CudaBuild()) {
    LoadGpuMathLibraries();
  } else {
    ExpectErrorWith([] { LoadGpuMathLibraries(); }, {"GPU math", "no CUDA backend"});
  }
}

TEST(GpuToolTest, DeviceQueryAndGpuFlag) {
  std::string why;
  const int count = Gpu().DeviceCount(&why);
  const auto query = RunShell(ToolPath() + " device-query");
  const auto train = RunShell(ToolPath() + " train --solver=none.prototxt --gpu=0");
  if (count == 0) {
    EXPECT_NE(query.second, 0) << query.first;
    EXPECT_NE(query.first.find("no CUDA device"), std::string::npos) << query.first;
    EXPECT_NE(train.first.find("--gpu=0: no CUDA device"), std::string::npos) << train.first;
  } else {
    EXPECT_EQ(query.second, 0) << query.first;
    EXPECT_NE(query.first.find("Device id:                     0"), std::string::npos)
        << query.first;
    EXPECT_NE(train.first.find("layers do not run on the GPU"), std::string::npos) << train.first;
  }
  EXPECT_NE(train.second, 0);
  // Caffe's spelling.
  EXPECT_EQ(RunShell(ToolPath() + " device_query").second, query.second);
}

// SyncedMemory on the runtime in use: each side is copied only when the
// other changed it.
void ExpectCopiesFollowTheLastWriter() {
  SyncedMemory memory(4 * sizeof(float));
  // Fresh device memory is zero, as fresh host memory.
  std::vector<float> back(4, -1.f);
  Gpu().Memcpy(back.data(), memory.gpu_data(), 16, GpuRuntime::Copy::kDeviceToHost);
  EXPECT_EQ(back, std::vector<float>(4, 0.f));
  EXPECT_EQ(memory.head(), SyncedMemory::Head::HEAD_AT_GPU);
  // Written on the host: copied to the device on the next gpu_data.
  float* host = static_cast<float*>(memory.mutable_cpu_data());
  for (int i = 0; i < 4; ++i) host[i] = i + 0.5f;
  EXPECT_EQ(memory.head(), SyncedMemory::Head::HEAD_AT_CPU);
  const void* device = memory.gpu_data();
  EXPECT_EQ(memory.head(), SyncedMemory::Head::SYNCED);
  Gpu().Memcpy(back.data(), device, 16, GpuRuntime::Copy::kDeviceToHost);
  EXPECT_EQ(back, (std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f}));
  // Written on the device: copied back on the next cpu_data.
  const std::vector<float> values{9, 8, 7, 6};
  Gpu().Memcpy(memory.mutable_gpu_data(), values.data(), 16, GpuRuntime::Copy::kHostToDevice);
  EXPECT_EQ(memory.head(), SyncedMemory::Head::HEAD_AT_GPU);
  const float* read = static_cast<const float*>(memory.cpu_data());
  EXPECT_EQ(std::vector<float>(read, read + 4), values);
  EXPECT_EQ(memory.head(), SyncedMemory::Head::SYNCED);
}

TEST(GpuMemoryTest, HostAndDeviceCopiesFollowTheLastWriter) {
  REQUIRE_GPU_OR_SKIP();
  ExpectCopiesFollowTheLastWriter();
}

// The same logic, and that reading a side that is up to date copies nothing,
// with the device's memory in host memory: runs everywhere.
TEST(GpuMemoryTest, CopiesFollowTheLastWriterOnAHostBackedRuntime) {
  HostBackedGpu host_backed;
  RuntimeOverride use(&host_backed);
  ExpectCopiesFollowTheLastWriter();
  SyncedMemory memory(8);
  memory.mutable_cpu_data();
  memory.gpu_data();
  const int to_device = host_backed.copies[0], to_host = host_backed.copies[1];
  memory.gpu_data();
  memory.cpu_data();
  memory.gpu_data();
  EXPECT_EQ(host_backed.copies[0], to_device);
  EXPECT_EQ(host_backed.copies[1], to_host);
}

// A GPU worker's exchange (worker.cc): its parameters' host memory is the
// flat buffer the rule reads and writes. After a step updated them on the
// device, cpu_data() brings them into the buffer; after the rule wrote the
// buffer, mutable_cpu_data() makes the next step copy it to the device.
TEST(GpuMemoryTest, WorkerExchangeReachesBothSides) {
  HostBackedGpu host_backed;
  RuntimeOverride use(&host_backed);
  std::vector<float> flat(6, 0.f);
  Blob<float> w0(std::vector<int>{2}), w1(std::vector<int>{4});
  w0.set_cpu_data(flat.data());
  w1.set_cpu_data(flat.data() + 2);
  // The step: the update writes the device copies.
  const std::vector<float> updated{1, 2, 3, 4, 5, 6};
  Gpu().Memcpy(w0.mutable_gpu_data(), updated.data(), 2 * sizeof(float),
               GpuRuntime::Copy::kHostToDevice);
  Gpu().Memcpy(w1.mutable_gpu_data(), updated.data() + 2, 4 * sizeof(float),
               GpuRuntime::Copy::kHostToDevice);
  for (Blob<float>* blob : {&w0, &w1}) blob->cpu_data();
  EXPECT_EQ(flat, updated);
  // The rule moves the buffer towards the center.
  for (float& v : flat) v *= 10;
  for (Blob<float>* blob : {&w0, &w1}) blob->mutable_cpu_data();
  std::vector<float> device(6);
  Gpu().Memcpy(device.data(), w0.gpu_data(), 2 * sizeof(float), GpuRuntime::Copy::kDeviceToHost);
  Gpu().Memcpy(device.data() + 2, w1.gpu_data(), 4 * sizeof(float),
               GpuRuntime::Copy::kDeviceToHost);
  EXPECT_EQ(device, (std::vector<float>{10, 20, 30, 40, 50, 60}));
}

template <typename Dtype>
class GpuMathTest : public ::testing::Test {};
TYPED_TEST_SUITE(GpuMathTest, TestDtypes);

// The GPU's BLAS calls against the CPU's on the same random values, in
// every transpose combination.
TYPED_TEST(GpuMathTest, BlasEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  using Dtype = TypeParam;
  const int M = 5, N = 7, K = 3;
  for (CBLAS_TRANSPOSE ta : {CblasNoTrans, CblasTrans}) {
    for (CBLAS_TRANSPOSE tb : {CblasNoTrans, CblasTrans}) {
      auto a = plumbing_test::GaussianBlob<Dtype>({M, K}, 1);
      auto b = plumbing_test::GaussianBlob<Dtype>({K, N}, 2);
      auto c = plumbing_test::GaussianBlob<Dtype>({M, N}, 3);
      Blob<Dtype> expected({M, N});
      expected.CopyFrom(*c);
      caffe_cpu_gemm<Dtype>(ta, tb, M, N, K, Dtype(1.5), a->cpu_data(), b->cpu_data(), Dtype(0.5),
                            expected.mutable_cpu_data());
      caffe_gpu_gemm<Dtype>(ta, tb, M, N, K, Dtype(1.5), a->gpu_data(), b->gpu_data(), Dtype(0.5),
                            c->mutable_gpu_data());
      for (int i = 0; i < M * N; ++i) {
        EXPECT_NEAR(c->cpu_data()[i], expected.cpu_data()[i], 1e-4) << ta << tb << i;
      }
    }
  }
  auto x = plumbing_test::GaussianBlob<Dtype>({10}, 4);
  auto y = plumbing_test::GaussianBlob<Dtype>({10}, 5);
  const Dtype dot = caffe_cpu_dot<Dtype>(10, x->cpu_data(), y->cpu_data());
  const Dtype asum = caffe_cpu_asum<Dtype>(10, x->cpu_data());
  EXPECT_NEAR(caffe_gpu_dot<Dtype>(10, x->gpu_data(), y->gpu_data()), dot, 1e-5);
  EXPECT_NEAR(caffe_gpu_asum<Dtype>(10, x->gpu_data()), asum, 1e-5);
  std::vector<Dtype> expected(y->cpu_data(), y->cpu_data() + 10);
  caffe_axpy<Dtype>(10, Dtype(2), x->cpu_data(), expected.data());
  caffe_gpu_axpy<Dtype>(10, Dtype(2), x->gpu_data(), y->mutable_gpu_data());
  caffe_gpu_scal<Dtype>(10, Dtype(3), y->mutable_gpu_data());
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(y->cpu_data()[i], 3 * expected[i], 1e-5);
  caffe_gpu_set<Dtype>(10, Dtype(4), y->mutable_gpu_data());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(y->cpu_data()[i], Dtype(4));
}

}  // namespace deepspark
