// Micro-benchmarks of the hot CPU kernels on LeNet / cifar10_quick shapes, float, through the
// layer registry exactly as a Net would call them. Run: build/bench/deepspark_kernels_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/filler.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/im2col.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {
namespace {

struct Fixture {
  std::shared_ptr<Layer<float>> layer;
  Blob<float> bottom, top;
  std::vector<Blob<float>*> bottoms{&bottom}, tops{&top};
  std::vector<bool> prop{true};

  Fixture(const caffe::LayerParameter& p, std::vector<int> shape) : bottom(shape) {
    caffe::FillerParameter fp;
    fp.set_type("gaussian");
    GetFiller<float>(fp)->Fill(&bottom);
    layer = LayerRegistry<float>::CreateLayer(p);
    layer->SetUp(bottoms, tops);
    GetFiller<float>(fp)->Fill(&top);  // fills data; copy to diff for backward
    std::copy(top.cpu_data(), top.cpu_data() + top.count(), top.mutable_cpu_diff());
  }
};

caffe::LayerParameter Conv(int num_output, int kernel, int pad) {
  caffe::LayerParameter p;
  p.set_type("Convolution");
  auto* c = p.mutable_convolution_param();
  c->set_num_output(num_output);
  c->add_kernel_size(kernel);
  if (pad) c->add_pad(pad);
  c->mutable_weight_filler()->set_type("gaussian");
  return p;
}

caffe::LayerParameter Pool(bool max, int kernel, int stride) {
  caffe::LayerParameter p;
  p.set_type("Pooling");
  auto* c = p.mutable_pooling_param();
  c->set_pool(max ? caffe::PoolingParameter::MAX : caffe::PoolingParameter::AVE);
  c->set_kernel_size(kernel);
  c->set_stride(stride);
  return p;
}

caffe::LayerParameter IP(int num_output) {
  caffe::LayerParameter p;
  p.set_type("InnerProduct");
  p.mutable_inner_product_param()->set_num_output(num_output);
  p.mutable_inner_product_param()->mutable_weight_filler()->set_type("gaussian");
  return p;
}

void RunForward(benchmark::State& state, const caffe::LayerParameter& p, std::vector<int> shape) {
  Fixture f(p, shape);
  for (auto _ : state) f.layer->Forward(f.bottoms, f.tops);
}

void RunBackward(benchmark::State& state, const caffe::LayerParameter& p,
                 std::vector<int> shape) {
  Fixture f(p, shape);
  f.layer->Forward(f.bottoms, f.tops);
  for (auto _ : state) f.layer->Backward(f.tops, f.prop, f.bottoms);
}

// LeNet conv2: 64x20x12x12 -> 50 outputs, 5x5.  cifar10_quick conv2: 100x32x16x16, 32, 5x5 pad 2.
void BM_LeNetConv2Forward(benchmark::State& s) { RunForward(s, Conv(50, 5, 0), {64, 20, 12, 12}); }
void BM_LeNetConv2Backward(benchmark::State& s) { RunBackward(s, Conv(50, 5, 0), {64, 20, 12, 12}); }
void BM_CifarConv2Forward(benchmark::State& s) { RunForward(s, Conv(32, 5, 2), {100, 32, 16, 16}); }
void BM_CifarConv2Backward(benchmark::State& s) {
  RunBackward(s, Conv(32, 5, 2), {100, 32, 16, 16});
}
void BM_LeNetPool1Forward(benchmark::State& s) { RunForward(s, Pool(true, 2, 2), {64, 20, 24, 24}); }
void BM_LeNetPool1Backward(benchmark::State& s) {
  RunBackward(s, Pool(true, 2, 2), {64, 20, 24, 24});
}
void BM_CifarPool2AveForward(benchmark::State& s) {
  RunForward(s, Pool(false, 3, 2), {100, 32, 16, 16});
}
void BM_LeNetIp1Forward(benchmark::State& s) { RunForward(s, IP(500), {64, 50, 4, 4}); }
void BM_LeNetIp1Backward(benchmark::State& s) { RunBackward(s, IP(500), {64, 50, 4, 4}); }

// One image of each conv2 input through im2col.
void BM_Im2colLeNetConv2(benchmark::State& s) {
  std::vector<float> im(20 * 12 * 12, 1.f), col(20 * 25 * 8 * 8);
  for (auto _ : s) {
    im2col_cpu(im.data(), 20, 12, 12, 5, 5, 0, 0, 1, 1, 1, 1, col.data());
    benchmark::DoNotOptimize(col.data());
  }
}
void BM_Im2colCifarConv2(benchmark::State& s) {
  std::vector<float> im(32 * 16 * 16, 1.f), col(32 * 25 * 16 * 16);
  for (auto _ : s) {
    im2col_cpu(im.data(), 32, 16, 16, 5, 5, 2, 2, 1, 1, 1, 1, col.data());
    benchmark::DoNotOptimize(col.data());
  }
}

BENCHMARK(BM_LeNetConv2Forward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LeNetConv2Backward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CifarConv2Forward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CifarConv2Backward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LeNetPool1Forward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeNetPool1Backward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CifarPool2AveForward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeNetIp1Forward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeNetIp1Backward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Im2colLeNetConv2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Im2colCifarConv2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace deepspark

BENCHMARK_MAIN();
