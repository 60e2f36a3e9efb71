// A training step allocates nothing after the first iterations: no blob
// buffer (SyncedMemory's counter) and no heap block of 4 KiB or more
// (operator new, replaced in this file for the whole test binary), on both
// engines and with 1 and 2 threads. Smaller blocks are not counted: oneDNN
// builds a small argument map per primitive call (its C++ API), which is
// bookkeeping, not tensor memory.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "deepspark/engine.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/solver_factory.hpp"
#include "deepspark/syncedmem.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_large_allocations{0};
constexpr size_t kLargeBlock = 4096;
}  // namespace

void* operator new(size_t size) {
  if (g_counting.load(std::memory_order_relaxed) && size >= kLargeBlock) {
    g_large_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace deepspark {
namespace {

// LeNet's layers (and an LRN, a BatchNorm and an average pooling) on
// DummyData with constant fillers, which are filled once.
constexpr char kNet[] = R"(
layer { name: "data" type: "DummyData" top: "data" top: "label"
  dummy_data_param { shape { dim: 16 dim: 1 dim: 28 dim: 28 } shape { dim: 16 }
    data_filler { type: "constant" value: 0.5 } data_filler { type: "constant" value: 3 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1" lrn_param { local_size: 5 } }
layer { name: "conv2" type: "Convolution" bottom: "norm1" top: "conv2"
  convolution_param { num_output: 32 kernel_size: 3 weight_filler { type: "xavier" } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv2" top: "conv2" }
layer { name: "relu" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool2" top: "ip1"
  inner_product_param { num_output: 50 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip1" bottom: "label" top: "loss" }
)";

struct StepCase {
  ComputeEngine engine;
  int threads;
};

class StepAllocationTest : public ::testing::TestWithParam<StepCase> {};

TEST_P(StepAllocationTest, NoAllocationAfterTheFirstIterations) {
  const ComputeEngine saved_engine = DefaultEngine();
  const int saved_threads = MaxThreads();
  SetDefaultEngine(GetParam().engine);
  SetNumThreads(GetParam().threads);
  caffe::SolverParameter param;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kNet, param.mutable_net_param()));
  param.set_base_lr(0.01f);
  param.set_momentum(0.9f);
  param.set_weight_decay(0.0005f);
  param.set_lr_policy("inv");
  param.set_gamma(0.0001f);
  param.set_power(0.75f);
  param.set_max_iter(100);
  param.set_display(0);
  param.set_snapshot_after_train(false);
  param.set_random_seed(1701);
  auto solver = CreateSolver<float>(param);
  solver->Step(2);  // shapes settle, buffers and primitives are made
  const uint64_t blobs_before = HostAllocationCount();
  g_large_allocations = 0;
  g_counting = true;
  solver->Step(5);
  g_counting = false;
  EXPECT_EQ(HostAllocationCount(), blobs_before) << "blob buffers allocated during steps";
  EXPECT_EQ(g_large_allocations.load(), 0u) << "heap blocks >= 4 KiB allocated during steps";
  SetDefaultEngine(saved_engine);
  SetNumThreads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(Engines, StepAllocationTest,
                         ::testing::Values(StepCase{ComputeEngine::kCaffe, 1},
                                           StepCase{ComputeEngine::kCaffe, 2},
                                           StepCase{ComputeEngine::kDnnl, 1},
                                           StepCase{ComputeEngine::kDnnl, 2}),
                         [](const ::testing::TestParamInfo<StepCase>& info) {
                           return std::string(EngineName(info.param.engine)) + "_" +
                                  std::to_string(info.param.threads) + "threads";
                         });

}  // namespace
}  // namespace deepspark
