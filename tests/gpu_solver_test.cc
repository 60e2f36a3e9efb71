// The solvers' updates on the GPU path (the shared normalization and L1/L2
// decay, then each type's step: SGD's momentum, Nesterov, AdaGrad, RMSProp,
// AdaDelta, Adam) give the CPU path's weights. SKIPPED without a GPU
// (scripts/gpu-check.sh runs it on one).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "deepspark/io.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "deepspark/sgd_solvers.hpp"
#include "deepspark/solver_factory.hpp"
#include "gpu_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class GpuSolverTest : public ::testing::Test {
 protected:
  // Five steps of a `type` solver (CreateSolver's names) over two params in
  // `mode`; returns their values.
  static std::vector<Dtype> Train(ComputeMode mode, const std::string& type,
                                  const std::string& regularization, int iter_size) {
    ComputeModeScope scope(mode);
    Blob<Dtype> w0(std::vector<int>{3}), w1(std::vector<int>{2});
    for (int i = 0; i < 3; ++i) w0.mutable_cpu_data()[i] = Dtype(0.5 - i);
    for (int i = 0; i < 2; ++i) w1.mutable_cpu_data()[i] = Dtype(2 + i);
    SolverParamSet<Dtype> set;
    set.params = {&w0, &w1};
    set.lr_mult = {1.0f, 2.0f};
    set.decay_mult = {1.0f, 0.5f};
    caffe::SolverParameter param;
    param.set_base_lr(0.1f);
    param.set_lr_policy("fixed");
    param.set_type(type);
    // AdaGrad and RMSProp refuse momentum; AdaDelta's is its decay.
    param.set_momentum(type == "AdaGrad" || type == "RMSProp" ? 0.f
                       : type == "AdaDelta"                   ? 0.95f
                                                              : 0.9f);
    param.set_momentum2(0.999f);  // Adam's beta2
    param.set_rms_decay(0.98f);
    param.set_delta(type == "AdaDelta" ? 1e-6f : 1e-8f);
    param.set_weight_decay(0.01f);
    param.set_regularization_type(regularization);
    param.set_iter_size(iter_size);
    auto solver = CreateSolver<Dtype>(param, set);
    for (int t = 0; t < 5; ++t) {
      for (int i = 0; i < 3; ++i) w0.mutable_cpu_diff()[i] = Dtype(std::sin(1.0 + t + i));
      for (int i = 0; i < 2; ++i) w1.mutable_cpu_diff()[i] = Dtype(std::cos(2.0 + t + i));
      solver->ApplyUpdate();
      solver->set_iter(solver->iter() + 1);
    }
    std::vector<Dtype> out(w0.cpu_data(), w0.cpu_data() + 3);
    out.insert(out.end(), w1.cpu_data(), w1.cpu_data() + 2);
    return out;
  }
};
TYPED_TEST_SUITE(GpuSolverTest, TestDtypes);

TYPED_TEST(GpuSolverTest, SgdUpdateEqualsTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* regularization : {"L2", "L1"}) {
    for (int iter_size : {1, 2}) {
      SCOPED_TRACE(std::string(regularization) + " iter_size " + std::to_string(iter_size));
      const auto cpu = this->Train(ComputeMode::kCpu, "SGD", regularization, iter_size);
      const auto gpu = this->Train(ComputeMode::kGpu, "SGD", regularization, iter_size);
      for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 1e-5) << i;
    }
  }
}

// The other solver types' kernels (solver_updates.cu), after L2 decay
// without normalization and L1 decay with iter_size 2.
TYPED_TEST(GpuSolverTest, AdaptiveUpdatesEqualTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  for (const char* type : {"Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"}) {
    for (const auto& [regularization, iter_size] :
         std::vector<std::pair<std::string, int>>{{"L2", 1}, {"L1", 2}}) {
      SCOPED_TRACE(std::string(type) + " " + regularization + " iter_size " +
                   std::to_string(iter_size));
      const auto cpu = this->Train(ComputeMode::kCpu, type, regularization, iter_size);
      const auto gpu = this->Train(ComputeMode::kGpu, type, regularization, iter_size);
      for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 1e-5) << i;
    }
  }
}

// Ten SGD steps of a small conv net on the GPU, its weights written as a
// .caffemodel (read back from the device by the snapshot), loaded into a
// TEST net on the CPU: the same weights, bit for bit, and the same outputs
// as the GPU net's.
TEST(GpuSolverCaffemodelTest, TrainedOnTheGpuLoadsOnTheCpu) {
  REQUIRE_GPU_OR_SKIP();
  const std::string net_text = R"(
    name: "small"
    layer { name: "data" type: "DummyData" top: "data" top: "label"
            dummy_data_param { shape { dim: 4 dim: 2 dim: 8 dim: 8 } shape { dim: 4 }
                               data_filler { type: "gaussian" std: 1 }
                               data_filler { type: "uniform" min: 0 max: 2.999 } } }
    layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
            convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "xavier" } } }
    layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
    layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
            inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
  )";
  caffe::SolverParameter solver_param;
  ReadProtoFromTextString(net_text, "small net", solver_param.mutable_net_param());
  solver_param.set_base_lr(0.1f);
  solver_param.set_lr_policy("fixed");
  solver_param.set_momentum(0.9f);
  solver_param.set_max_iter(10);
  solver_param.set_random_seed(3);
  const std::string file = ::testing::TempDir() + "/gpu_trained.caffemodel";
  std::vector<std::vector<float>> gpu_weights;
  std::vector<float> gpu_output;
  {
    ComputeModeScope gpu(ComputeMode::kGpu);
    auto solver = CreateSolver<float>(solver_param);
    solver->Step(10);
    caffe::NetParameter trained;
    solver->net()->ToProto(&trained);
    WriteProtoToBinaryFile(trained, file);
    for (Blob<float>* p : solver->net()->learnable_params()) {
      gpu_weights.emplace_back(p->cpu_data(), p->cpu_data() + p->count());
    }
    SeedThreadRng(9, 0);
    solver->net()->Forward();
    const Blob<float>& ip = *solver->net()->blob_by_name("ip");
    gpu_output.assign(ip.cpu_data(), ip.cpu_data() + ip.count());
  }
  caffe::NetParameter net_param = solver_param.net_param();
  net_param.mutable_state()->set_phase(caffe::TRAIN);
  Net<float> cpu_net(net_param);
  cpu_net.CopyTrainedLayersFrom(file);
  ASSERT_EQ(cpu_net.learnable_params().size(), gpu_weights.size());
  for (size_t p = 0; p < gpu_weights.size(); ++p) {
    const Blob<float>& blob = *cpu_net.learnable_params()[p];
    ASSERT_EQ(static_cast<size_t>(blob.count()), gpu_weights[p].size());
    for (int i = 0; i < blob.count(); ++i) EXPECT_EQ(blob.cpu_data()[i], gpu_weights[p][i]);
  }
  SeedThreadRng(9, 0);  // the same DummyData batch
  cpu_net.Forward();
  const Blob<float>& ip = *cpu_net.blob_by_name("ip");
  ASSERT_EQ(static_cast<size_t>(ip.count()), gpu_output.size());
  for (int i = 0; i < ip.count(); ++i) EXPECT_NEAR(ip.cpu_data()[i], gpu_output[i], 1e-4) << i;
}

}  // namespace deepspark
