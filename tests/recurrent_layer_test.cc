// LSTM and RNN (recurrent_layer.hpp): the forward against the equations
// computed here step by step, the state carried across batches and exposed,
// Caffe's parameter order, central-difference gradients, a net that learns a
// task needing memory, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "deepspark/layers/lstm_layer.hpp"
#include "deepspark/layers/rnn_layer.hpp"
#include "deepspark/net.hpp"
#include "gradient_checker.hpp"
#include "plumbing_test_util.hpp"
#include "test_util.hpp"

namespace deepspark {
using namespace plumbing_test;

namespace {

caffe::LayerParameter RecurrentParam(const char* type, int num_output, bool expose = false) {
  return ParseLayer(std::string("name: 'rec' type: '") + type +
                    "' recurrent_param { num_output: " + std::to_string(num_output) +
                    " weight_filler { type: 'uniform' min: -0.5 max: 0.5 }"
                    " bias_filler { type: 'uniform' min: -0.5 max: 0.5 }" +
                    (expose ? " expose_hidden: true" : "") + " }");
}

double Sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

// out[r] = sum_k w[r * in_size + k] * in[k] (+ b[r]): Caffe's InnerProduct.
template <typename Dtype>
void AddProduct(const Blob<Dtype>& w, const Dtype* bias, const std::vector<double>& in,
                std::vector<double>* out) {
  const int rows = w.shape(0), cols = w.shape(1);
  for (int r = 0; r < rows; ++r) {
    double sum = bias ? bias[r] : 0;
    for (int k = 0; k < cols; ++k) sum += w.cpu_data()[r * cols + k] * in[k];
    (*out)[r] += sum;
  }
}

template <typename Dtype>
std::vector<double> Row(const Blob<Dtype>& blob, int index, int size) {
  return std::vector<double>(blob.cpu_data() + index * size, blob.cpu_data() + (index + 1) * size);
}

// The LSTM's output (T x N x D), computed from the equations with the layer's
// weights: W_xc, b_c, [W_xc_static], W_hc. Starts from a zero state.
template <typename Dtype>
std::vector<double> LstmByHand(const std::vector<std::shared_ptr<Blob<Dtype>>>& w,
                               const Blob<Dtype>& x, const Blob<Dtype>& cont,
                               const Blob<Dtype>* x_static, int dim) {
  const int steps = x.shape(0), num = x.shape(1), in = x.count(2);
  const Blob<Dtype>& w_hc = *w[x_static ? 3 : 2];
  std::vector<double> out;
  std::vector<std::vector<double>> h(num, std::vector<double>(dim)), c = h;
  for (int t = 0; t < steps; ++t) {
    for (int n = 0; n < num; ++n) {
      const double keep = cont.cpu_data()[t * num + n];
      std::vector<double> gates(4 * dim, 0), h_conted(dim);
      for (int d = 0; d < dim; ++d) h_conted[d] = keep * h[n][d];
      AddProduct(*w[0], w[1]->cpu_data(), Row(x, t * num + n, in), &gates);
      if (x_static)
        AddProduct(*w[2], (const Dtype*)nullptr, Row(*x_static, n, x_static->count(1)), &gates);
      AddProduct(w_hc, (const Dtype*)nullptr, h_conted, &gates);
      for (int d = 0; d < dim; ++d) {
        const double i = Sigmoid(gates[d]), f = keep == 0 ? 0 : keep * Sigmoid(gates[dim + d]);
        const double o = Sigmoid(gates[2 * dim + d]), g = std::tanh(gates[3 * dim + d]);
        c[n][d] = f * c[n][d] + i * g;
        h[n][d] = o * std::tanh(c[n][d]);
        out.push_back(h[n][d]);
      }
    }
  }
  return out;
}

// The RNN's output: W_xh, b_h, [W_xh_static], W_hh, W_ho, b_o.
template <typename Dtype>
std::vector<double> RnnByHand(const std::vector<std::shared_ptr<Blob<Dtype>>>& w,
                              const Blob<Dtype>& x, const Blob<Dtype>& cont,
                              const Blob<Dtype>* x_static, int dim) {
  const int steps = x.shape(0), num = x.shape(1), in = x.count(2);
  const int s = x_static ? 1 : 0;
  std::vector<double> out;
  std::vector<std::vector<double>> h(num, std::vector<double>(dim));
  for (int t = 0; t < steps; ++t) {
    for (int n = 0; n < num; ++n) {
      const double keep = cont.cpu_data()[t * num + n];
      std::vector<double> pre(dim, 0), h_conted(dim), o(dim, 0);
      for (int d = 0; d < dim; ++d) h_conted[d] = keep * h[n][d];
      AddProduct(*w[0], w[1]->cpu_data(), Row(x, t * num + n, in), &pre);
      if (x_static)
        AddProduct(*w[2], (const Dtype*)nullptr, Row(*x_static, n, x_static->count(1)), &pre);
      AddProduct(*w[2 + s], (const Dtype*)nullptr, h_conted, &pre);
      for (int d = 0; d < dim; ++d) h[n][d] = std::tanh(pre[d]);
      AddProduct(*w[3 + s], w[4 + s]->cpu_data(), h[n], &o);
      for (int d = 0; d < dim; ++d) out.push_back(std::tanh(o[d]));
    }
  }
  return out;
}

template <typename Dtype>
void ExpectBlobNear(const Blob<Dtype>& blob, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(static_cast<size_t>(blob.count()), expected.size());
  for (int i = 0; i < blob.count(); ++i) {
    EXPECT_NEAR(blob.cpu_data()[i], expected[i], tol) << "element " << i;
  }
}

}  // namespace

template <typename Dtype>
class RecurrentLayerTest : public ::testing::Test {
 public:
  static constexpr int kSteps = 3, kNum = 2, kIn = 3, kStatic = 2, kDim = 2;
  RecurrentLayerTest()
      : x_(GaussianBlob<Dtype>({kSteps, kNum, kIn}, 1)),
        x_static_(GaussianBlob<Dtype>({kNum, kStatic}, 2)),
        // Both streams start at t = 0; stream 1 starts again at t = 2.
        cont_(ValueBlob<Dtype>({kSteps, kNum}, {0, 0, 1, 1, 1, 0})) {}

  std::vector<Blob<Dtype>*> Bottom(bool with_static) {
    std::vector<Blob<Dtype>*> b{x_.get(), cont_.get()};
    if (with_static) b.push_back(x_static_.get());
    return b;
  }

  std::unique_ptr<Blob<Dtype>> x_, x_static_, cont_;
  Blob<Dtype> out_;
  std::vector<Blob<Dtype>*> top_{&out_};
};
TYPED_TEST_SUITE(RecurrentLayerTest, TestDtypes);

TYPED_TEST(RecurrentLayerTest, ParametersInCaffesOrderAndShapes) {
  using Shapes = std::vector<std::vector<int>>;
  auto shapes = [](Layer<TypeParam>& layer) {
    Shapes s;
    for (const auto& b : layer.blobs()) s.push_back(b->shape());
    return s;
  };
  LSTMLayer<TypeParam> lstm(RecurrentParam("LSTM", 2));
  lstm.SetUp(this->Bottom(false), this->top_);
  EXPECT_EQ(shapes(lstm), (Shapes{{8, 3}, {8}, {8, 2}}));  // W_xc, b_c, W_hc
  EXPECT_EQ(this->out_.shape(), (std::vector<int>{3, 2, 2}));
  LSTMLayer<TypeParam> lstm_static(RecurrentParam("LSTM", 2));
  lstm_static.SetUp(this->Bottom(true), this->top_);
  EXPECT_EQ(shapes(lstm_static), (Shapes{{8, 3}, {8}, {8, 2}, {8, 2}}));  // + W_xc_static
  RNNLayer<TypeParam> rnn(RecurrentParam("RNN", 2));
  rnn.SetUp(this->Bottom(true), this->top_);
  // W_xh, b_h, W_xh_static, W_hh, W_ho, b_o
  EXPECT_EQ(shapes(rnn), (Shapes{{2, 3}, {2}, {2, 2}, {2, 2}, {2, 2}, {2}}));
  // Every step's copy of W_hh is the owner's memory, not a copy.
  const Net<TypeParam>& unrolled = rnn.unrolled_net();
  int uses = 0;
  for (size_t i = 0; i < unrolled.params().size(); ++i) {
    if (unrolled.params()[i]->cpu_data() == rnn.blobs()[3]->cpu_data()) ++uses;
  }
  EXPECT_EQ(uses, 3);  // one per timestep
}

TYPED_TEST(RecurrentLayerTest, LstmForwardIsTheEquations) {
  for (bool with_static : {false, true}) {
    LSTMLayer<TypeParam> layer(RecurrentParam("LSTM", 2));
    layer.SetUp(this->Bottom(with_static), this->top_);
    layer.Forward(this->Bottom(with_static), this->top_);
    ExpectBlobNear(this->out_,
                   LstmByHand(layer.blobs(), *this->x_, *this->cont_,
                              with_static ? this->x_static_.get() : nullptr, 2),
                   1e-5);
  }
}

TYPED_TEST(RecurrentLayerTest, RnnForwardIsTheEquations) {
  for (bool with_static : {false, true}) {
    RNNLayer<TypeParam> layer(RecurrentParam("RNN", 2));
    layer.SetUp(this->Bottom(with_static), this->top_);
    layer.Forward(this->Bottom(with_static), this->top_);
    ExpectBlobNear(this->out_,
                   RnnByHand(layer.blobs(), *this->x_, *this->cont_,
                             with_static ? this->x_static_.get() : nullptr, 2),
                   1e-5);
  }
}

// Without expose_hidden, a batch starts from where the last one ended: two
// batches of 2 steps give what one batch of 4 steps gives.
TYPED_TEST(RecurrentLayerTest, StateCarriesAcrossBatches) {
  auto x = GaussianBlob<TypeParam>({4, 2, 3}, 5);
  auto cont = ValueBlob<TypeParam>({4, 2}, {0, 0, 1, 1, 1, 1, 1, 1});
  Blob<TypeParam> whole;
  std::vector<Blob<TypeParam>*> whole_top{&whole};
  LSTMLayer<TypeParam> long_layer(RecurrentParam("LSTM", 2));
  long_layer.SetUp({x.get(), cont.get()}, whole_top);
  long_layer.Forward({x.get(), cont.get()}, whole_top);

  LSTMLayer<TypeParam> short_layer(RecurrentParam("LSTM", 2));
  auto half_x = std::make_unique<Blob<TypeParam>>(std::vector<int>{2, 2, 3});
  auto half_cont = std::make_unique<Blob<TypeParam>>(std::vector<int>{2, 2});
  Blob<TypeParam> half;
  std::vector<Blob<TypeParam>*> half_bottom{half_x.get(), half_cont.get()}, half_top{&half};
  short_layer.SetUp(half_bottom, half_top);
  for (size_t i = 0; i < short_layer.blobs().size(); ++i) {
    short_layer.blobs()[i]->CopyFrom(*long_layer.blobs()[i]);
  }
  for (int part = 0; part < 2; ++part) {
    std::copy(x->cpu_data() + part * 12, x->cpu_data() + (part + 1) * 12,
              half_x->mutable_cpu_data());
    std::copy(cont->cpu_data() + part * 4, cont->cpu_data() + (part + 1) * 4,
              half_cont->mutable_cpu_data());
    short_layer.Forward(half_bottom, half_top);
    for (int i = 0; i < half.count(); ++i) {
      EXPECT_NEAR(half.cpu_data()[i], whole.cpu_data()[part * 8 + i], 1e-6) << part << "," << i;
    }
  }
  // Reset forgets the state: the second half alone then differs.
  short_layer.Reset();
  short_layer.Forward(half_bottom, half_top);
  double diff = 0;
  for (int i = 0; i < half.count(); ++i)
    diff += std::fabs(half.cpu_data()[i] - whole.cpu_data()[8 + i]);
  EXPECT_GT(diff, 1e-3);
}

// expose_hidden: one step at a time, the state handed back in by the
// caller, gives the unrolled layer's output; h_T and c_T are the last state.
TYPED_TEST(RecurrentLayerTest, ExposedStateStepByStep) {
  auto x = GaussianBlob<TypeParam>({3, 2, 3}, 7);
  auto cont = ValueBlob<TypeParam>({3, 2}, {0, 1, 1, 1, 1, 0});
  Blob<TypeParam> whole;
  std::vector<Blob<TypeParam>*> whole_top{&whole};
  LSTMLayer<TypeParam> unrolled(RecurrentParam("LSTM", 2));
  unrolled.SetUp({x.get(), cont.get()}, whole_top);
  unrolled.Forward({x.get(), cont.get()}, whole_top);

  LSTMLayer<TypeParam> step(RecurrentParam("LSTM", 2, /*expose=*/true));
  Blob<TypeParam> x1({1, 2, 3}), cont1({1, 2}), h0({1, 2, 2}), c0({1, 2, 2});
  Blob<TypeParam> h, h_t, c_t;
  std::vector<Blob<TypeParam>*> bottom{&x1, &cont1, &h0, &c0}, top{&h, &h_t, &c_t};
  step.SetUp(bottom, top);
  ASSERT_EQ(step.blobs().size(), 3u);
  for (size_t i = 0; i < 3; ++i) step.blobs()[i]->CopyFrom(*unrolled.blobs()[i]);
  for (int t = 0; t < 3; ++t) {
    std::copy(x->cpu_data() + t * 6, x->cpu_data() + (t + 1) * 6, x1.mutable_cpu_data());
    std::copy(cont->cpu_data() + t * 2, cont->cpu_data() + (t + 1) * 2, cont1.mutable_cpu_data());
    step.Forward(bottom, top);
    ASSERT_EQ(h_t.shape(), (std::vector<int>{1, 2, 2}));
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(h.cpu_data()[i], whole.cpu_data()[t * 4 + i], 1e-6) << t << "," << i;
      EXPECT_EQ(h_t.cpu_data()[i], h.cpu_data()[i]);
    }
    h0.CopyFrom(h_t);
    c0.CopyFrom(c_t);
  }
}

TYPED_TEST(RecurrentLayerTest, NumberOfStreamsMayChange) {
  LSTMLayer<TypeParam> layer(RecurrentParam("LSTM", 2));
  layer.SetUp(this->Bottom(true), this->top_);
  auto x = GaussianBlob<TypeParam>({3, 4, 3}, 9);
  auto cont = ValueBlob<TypeParam>({3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1});
  auto x_static = GaussianBlob<TypeParam>({4, 2}, 10);
  layer.Forward({x.get(), cont.get(), x_static.get()}, this->top_);
  ASSERT_EQ(this->out_.shape(), (std::vector<int>{3, 4, 2}));
  ExpectBlobNear(this->out_, LstmByHand(layer.blobs(), *x, *cont, x_static.get(), 2), 1e-5);
}

// d(outputs)/d(x, x_static, weights); cont's first row is 0, so the state
// carried in from the checker's earlier forwards does not matter.
template <template <typename> class RecurrentType, typename Dtype>
void CheckGradients(RecurrentLayerTest<Dtype>* test, const char* type) {
  for (bool with_static : {false, true}) {
    RecurrentType<Dtype> layer(RecurrentParam(type, 2));
    GradientChecker<Dtype> checker(1e-2, 1e-3);
    checker.CheckGradientExhaustive(&layer, test->Bottom(with_static), test->top_, 0);
    if (with_static) {
      checker.CheckGradientExhaustive(&layer, test->Bottom(with_static), test->top_, 2);
    }
  }
}

TYPED_TEST(RecurrentLayerTest, LstmGradient) { CheckGradients<LSTMLayer>(this, "LSTM"); }

TYPED_TEST(RecurrentLayerTest, RnnGradient) { CheckGradients<RNNLayer>(this, "RNN"); }

TYPED_TEST(RecurrentLayerTest, ErrorsNameTheLayerAndBlob) {
  LSTMLayer<TypeParam> no_output(ParseLayer("name: 'rec' type: 'LSTM' recurrent_param {}"));
  ExpectErrorWith([&] { no_output.SetUp(this->Bottom(false), this->top_); },
                  {"LSTM 'rec'", "num_output must be positive"});
  auto bad_cont = ValueBlob<TypeParam>({2, 2}, {0, 0, 1, 1});
  RNNLayer<TypeParam> rnn(RecurrentParam("RNN", 2));
  ExpectErrorWith(
      [&] {
        rnn.SetUp({this->x_.get(), bad_cont.get()}, this->top_);
      },
      {"RNN 'rec'", "bottom 1 (cont) must be T x N = 3 x 2", "got 2 2 (4)"});
  LSTMLayer<TypeParam> lstm(RecurrentParam("LSTM", 2));
  lstm.SetUp(this->Bottom(false), this->top_);
  auto longer = GaussianBlob<TypeParam>({4, 2, 3}, 3);
  ExpectErrorWith(
      [&] {
        lstm.Reshape({longer.get(), bad_cont.get()}, this->top_);
      },
      {"LSTM 'rec'", "must keep its 3 timesteps"});
  lstm.Forward(this->Bottom(false), this->top_);
  ExpectErrorWith(
      [&] {
        lstm.Backward(this->top_, {true, true}, this->Bottom(false));
      },
      {"cannot backpropagate to the sequence indicators"});
  EXPECT_FALSE(lstm.AllowForceBackward(1));
  EXPECT_TRUE(lstm.AllowForceBackward(0));
}

// A net with an LSTM learns a task that needs memory (repeat the input of
// the step before), and its weights go through a NetParameter and back.
TYPED_TEST(RecurrentLayerTest, NetLearnsToRepeatThePreviousInput) {
  caffe::NetParameter param;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"(
    name: "echo" state { phase: TRAIN }
    layer { name: "in" type: "Input" top: "x" top: "cont" top: "target"
            input_param { shape { dim: 6 dim: 16 dim: 1 } shape { dim: 6 dim: 16 }
                          shape { dim: 6 dim: 16 dim: 1 } } }
    layer { name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" top: "h"
            recurrent_param { num_output: 8 weight_filler { type: "uniform" min: -0.3 max: 0.3 }
                              bias_filler { type: "constant" } } }
    layer { name: "out" type: "InnerProduct" bottom: "h" top: "y"
            inner_product_param { num_output: 1 axis: 2 weight_filler { type: "gaussian" std: 0.1 } } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
  )",
                                                            &param));
  Net<TypeParam> net(param);
  Net<TypeParam> tester(param);
  tester.ShareTrainedLayersWith(&net);
  ASSERT_EQ(net.learnable_params().size(), 5u);  // W_xc, b_c, W_hc; out's W, b
  Blob<TypeParam>* x = net.blob_by_name("x").get();
  Blob<TypeParam>* cont = net.blob_by_name("cont").get();
  Blob<TypeParam>* target = net.blob_by_name("target").get();
  SeedThreadRng(11, 0);
  auto batch = [&] {
    caffe_rng_uniform<TypeParam>(x->count(), TypeParam(-1), TypeParam(1), x->mutable_cpu_data());
    for (int t = 0; t < 6; ++t) {
      for (int n = 0; n < 16; ++n) {
        cont->mutable_cpu_data()[t * 16 + n] = t == 0 ? 0 : 1;
        target->mutable_cpu_data()[t * 16 + n] = t == 0 ? 0 : x->cpu_data()[(t - 1) * 16 + n];
      }
    }
  };
  auto loss_over = [&](int iterations, bool learn) {
    double total = 0;
    for (int it = 0; it < iterations; ++it) {
      batch();
      net.ClearParamDiffs();
      TypeParam loss = 0;
      net.Forward(&loss);
      total += loss;
      if (!learn) continue;
      net.Backward();
      for (Blob<TypeParam>* p : net.learnable_params()) {
        caffe_scal(p->count(), TypeParam(0.05), p->mutable_cpu_diff());  // lr
      }
      net.Update();
    }
    return total / iterations;
  };
  const double before = loss_over(20, false);
  loss_over(1500, true);
  const double after = loss_over(20, false);
  EXPECT_GT(before, 0.1);
  EXPECT_LT(after, before / 10) << "before " << before;

  // A net that shared the weights before training (as a solver's test net
  // does) computes with the trained ones, every step's copy included.
  for (const char* input : {"x", "cont", "target"}) {
    tester.blob_by_name(input)->CopyFrom(*net.blob_by_name(input));
  }
  TypeParam trained_loss = 0, tester_loss = 0;
  net.Forward(&trained_loss);
  tester.Forward(&tester_loss);
  EXPECT_EQ(trained_loss, tester_loss);

  // The weights through a NetParameter (as a .caffemodel holds them).
  caffe::NetParameter saved;
  net.ToProto(&saved);
  Net<TypeParam> again(param);
  again.CopyTrainedLayersFrom(saved);
  batch();
  for (const char* input : {"x", "cont", "target"}) {
    again.blob_by_name(input)->CopyFrom(*net.blob_by_name(input));
  }
  TypeParam a = 0, b = 0;
  net.Forward(&a);
  again.Forward(&b);  // a fresh state: the first step's cont is 0 either way
  EXPECT_NEAR(a, b, 1e-6);
}

}  // namespace deepspark
