// torch_time: the libtorch counterpart of `caffe time` / `deepspark time`, so the
// three engines can be compared on the same nets (see bench/peers/run.sh).
//
//   torch_time --net=lenet|cifar10_quick|lstm|rnn --batch=B --threads=T --iterations=K
//
// The nets are written by hand to mirror the stock Caffe prototxts
// (examples/mnist/lenet_train_test.prototxt and
// examples/cifar10/cifar10_quick_train_test.prototxt) layer for layer. Caffe's
// pooling rounds the output size up, hence ceil_mode=true everywhere; for AVE
// pooling Caffe divides by the window clipped to the padded input, which is
// PyTorch's count_include_pad=true. The shapes (LeNet 50x4x4, cifar10_quick
// 32x16x16 / 32x8x8 / 64x4x4 before ip1, as Caffe) are pinned by the ip1 sizes,
// and the logits shape is checked at start-up.
//
// lstm and rnn mirror bench/peers/recurrent_parity.py's timing nets: 20 steps
// of B streams (batch = streams) of 128 inputs, 256 units, then a linear
// output per step regressed with a squared loss. Caffe's RNN also has an
// output layer per step, o_t = tanh(W_ho h_t + b_o), added here by hand;
// torch's cells carry two biases where Caffe's carry one (negligible work).
//
// Like `caffe time`, a timed iteration is forward + loss + backward with no
// optimizer step; we also zero the gradients, since libtorch accumulates them
// (Caffe's backward overwrites its diffs, so this is the fair equivalent).
// Prints one line: forward_backward_ms=<mean ms per iteration>.
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace {

namespace nn = torch::nn;

struct LeNetImpl : nn::Module {
  nn::Conv2d conv1{nn::Conv2dOptions(1, 20, 5)};
  nn::MaxPool2d pool1{nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)};
  nn::Conv2d conv2{nn::Conv2dOptions(20, 50, 5)};
  nn::MaxPool2d pool2{nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)};
  nn::Linear ip1{50 * 4 * 4, 500};
  nn::Linear ip2{500, 10};

  LeNetImpl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("ip1", ip1);
    register_module("ip2", ip2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = pool1(conv1(x));   // 20x12x12
    x = pool2(conv2(x));   // 50x4x4
    x = torch::relu(ip1(x.flatten(1)));
    return ip2(x);
  }
};
TORCH_MODULE(LeNet);

struct Cifar10QuickImpl : nn::Module {
  nn::Conv2d conv1{nn::Conv2dOptions(3, 32, 5).padding(2)};
  nn::MaxPool2d pool1{nn::MaxPool2dOptions(3).stride(2).ceil_mode(true)};
  nn::Conv2d conv2{nn::Conv2dOptions(32, 32, 5).padding(2)};
  nn::AvgPool2d pool2{nn::AvgPool2dOptions(3).stride(2).ceil_mode(true).count_include_pad(true)};
  nn::Conv2d conv3{nn::Conv2dOptions(32, 64, 5).padding(2)};
  nn::AvgPool2d pool3{nn::AvgPool2dOptions(3).stride(2).ceil_mode(true).count_include_pad(true)};
  nn::Linear ip1{64 * 4 * 4, 64};
  nn::Linear ip2{64, 10};

  Cifar10QuickImpl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv3", conv3);
    register_module("ip1", ip1);
    register_module("ip2", ip2);
  }
  torch::Tensor forward(torch::Tensor x) {
    // Same order as the prototxt: pool1 before relu1, relu2 before pool2.
    x = torch::relu(pool1(conv1(x)));    // 32x16x16
    x = pool2(torch::relu(conv2(x)));    // 32x8x8
    x = pool3(torch::relu(conv3(x)));    // 64x4x4
    return ip2(ip1(x.flatten(1)));       // no relu between ip1 and ip2 in Caffe's net
  }
};
TORCH_MODULE(Cifar10Quick);

struct SequenceImpl : nn::Module {
  static constexpr int kInputs = 128, kUnits = 256;
  explicit SequenceImpl(bool lstm)
      : lstm_(nn::LSTMOptions(kInputs, kUnits)), rnn_(nn::RNNOptions(kInputs, kUnits)),
        out_(kUnits, kUnits), regress_(kUnits, 1), is_lstm_(lstm) {
    if (lstm) {
      register_module("lstm", lstm_);
    } else {
      register_module("rnn", rnn_);
      register_module("out", out_);
    }
    register_module("regress", regress_);
  }
  torch::Tensor forward(torch::Tensor x) {  // T x N x 128 -> T x N x 1
    if (is_lstm_) return regress_(std::get<0>(lstm_(x)));
    return regress_(torch::tanh(out_(std::get<0>(rnn_(x)))));
  }
  nn::LSTM lstm_;
  nn::RNN rnn_;
  nn::Linear out_, regress_;
  bool is_lstm_;
};
TORCH_MODULE(Sequence);

double time_sequence(Sequence net, int64_t streams, int iterations) {
  const int64_t steps = 20;
  torch::Tensor data = torch::randn({steps, streams, SequenceImpl::kInputs});
  torch::Tensor target = torch::randn({steps, streams, 1});
  auto step = [&] {
    net->zero_grad();
    torch::nn::functional::mse_loss(net->forward(data), target).backward();
  };
  for (int i = 0; i < 2; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) step();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / iterations;
}

// --key=value flags; unknown keys are an error so typos do not go unnoticed.
std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> f = {
      {"net", "lenet"}, {"batch", "64"}, {"threads", "1"}, {"iterations", "20"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos || !f.count(a.substr(2, eq - 2))) {
      std::cerr << "usage: torch_time --net=lenet|cifar10_quick|lstm|rnn --batch=B --threads=T"
                   " --iterations=K\n";
      std::exit(2);
    }
    f[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
  return f;
}

template <typename Net>
double time_net(Net net, torch::IntArrayRef input_shape, torch::IntArrayRef expect_logits,
                int iterations) {
  torch::Tensor data = torch::randn(input_shape);
  torch::Tensor label = torch::randint(0, 10, {input_shape[0]}, torch::kLong);
  if (net->forward(data).sizes() != expect_logits) {
    std::cerr << "torch_time: unexpected output shape\n";
    std::exit(1);
  }
  auto step = [&] {
    net->zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(data), label);
    loss.backward();
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up: allocator, thread pool, caches
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) step();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  auto f = parse_flags(argc, argv);
  const int64_t batch = std::stoll(f["batch"]);
  const int threads = std::stoi(f["threads"]);
  const int iterations = std::stoi(f["iterations"]);
  // Inter-op threads must be set before any parallel work; intra-op = T, the
  // counterpart of Caffe's OPENBLAS_NUM_THREADS and deepspark's --threads.
  torch::set_num_interop_threads(1);
  torch::set_num_threads(threads);
  torch::manual_seed(1);

  double ms;
  if (f["net"] == "lenet") {
    LeNet net;
    ms = time_net(net, {batch, 1, 28, 28}, {batch, 10}, iterations);
  } else if (f["net"] == "cifar10_quick") {
    Cifar10Quick net;
    ms = time_net(net, {batch, 3, 32, 32}, {batch, 10}, iterations);
  } else if (f["net"] == "lstm" || f["net"] == "rnn") {
    ms = time_sequence(Sequence(f["net"] == "lstm"), batch, iterations);
  } else {
    std::cerr << "torch_time: unknown net " << f["net"] << " (lenet, cifar10_quick, lstm, rnn)\n";
    return 2;
  }
  std::cout << "forward_backward_ms=" << ms << "\n";
  return 0;
}
