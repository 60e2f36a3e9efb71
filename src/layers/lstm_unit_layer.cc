#include "deepspark/layers/lstm_unit_layer.hpp"

#include <cmath>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
Dtype Sigmoid(Dtype x) {
  return Dtype(1) / (Dtype(1) + std::exp(-x));
}

// The activated gates of unit d of one instance (xn: its 4D pre-activations).
template <typename Dtype>
struct Gates {
  Gates(const Dtype* xn, Dtype cont, int dim, int d)
      : i(Sigmoid(xn[d])),
        f(cont == 0 ? Dtype(0) : cont * Sigmoid(xn[dim + d])),
        o(Sigmoid(xn[2 * dim + d])),
        g(std::tanh(xn[3 * dim + d])) {}
  Dtype i, f, o, g;
};

}  // namespace

template <typename Dtype>
void LSTMUnitLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  static const char* const kNames[] = {"c_prev", "x (gates)", "cont"};
  REQUIRE(bottom[0]->num_axes() >= 2)
      << "LSTMUnit '" << this->layer_param_.name() << "': c_prev must be 1 x N x D, got "
      << bottom[0]->shape_string();
  const int num = bottom[0]->shape(1);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(bottom[i]->num_axes() == (i == 2 ? 2 : 3) && bottom[i]->shape(0) == 1 &&
            bottom[i]->shape(1) == num)
        << "LSTMUnit '" << this->layer_param_.name() << "': bottom " << i << " (" << kNames[i]
        << ") must be "
        << (i == 2   ? "1 x N"
            : i == 0 ? "1 x N x D"
                     : "1 x N x 4D")
        << " with N = " << num << ", got " << bottom[i]->shape_string();
  }
  hidden_dim_ = bottom[0]->shape(2);
  REQUIRE(bottom[1]->shape(2) == 4 * hidden_dim_)
      << "LSTMUnit '" << this->layer_param_.name() << "': the gates bottom has "
      << bottom[1]->shape(2) << " values per instance, 4 x " << hidden_dim_ << " expected";
  top[0]->ReshapeLike(*bottom[0]);
  top[1]->ReshapeLike(*bottom[0]);
  gates_.ReshapeLike(*bottom[1]);
  tanh_c_.ReshapeLike(*bottom[0]);
}

template <typename Dtype>
void LSTMUnitLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  const int num = bottom[0]->shape(1), dim = hidden_dim_;
  const Dtype* c_prev = bottom[0]->cpu_data();
  const Dtype* x = bottom[1]->cpu_data();
  const Dtype* cont = bottom[2]->cpu_data();
  Dtype* c = top[0]->mutable_cpu_data();
  Dtype* h = top[1]->mutable_cpu_data();
  Dtype* acts = gates_.mutable_cpu_data();
  Dtype* tanh_c = tanh_c_.mutable_cpu_data();
  ParallelForTranscendentals(int64_t{num} * dim, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t n = k / dim, d = k % dim;
      const Gates<Dtype> gates(x + n * 4 * dim, cont[n], dim, static_cast<int>(d));
      Dtype* an = acts + n * 4 * dim;
      an[d] = gates.i;
      an[dim + d] = gates.f;
      an[2 * dim + d] = gates.o;
      an[3 * dim + d] = gates.g;
      c[k] = gates.f * c_prev[k] + gates.i * gates.g;
      tanh_c[k] = std::tanh(c[k]);
      h[k] = gates.o * tanh_c[k];
    }
  });
}

template <typename Dtype>
void LSTMUnitLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[2]) << "LSTMUnit '" << this->layer_param_.name()
                              << "': cannot backpropagate to the sequence indicators (cont)";
  if (!propagate_down[0] && !propagate_down[1]) return;
  const int num = bottom[0]->shape(1), dim = hidden_dim_;
  const Dtype* c_prev = bottom[0]->cpu_data();
  const Dtype* acts = gates_.cpu_data();
  const Dtype* tanh_cs = tanh_c_.cpu_data();
  const Dtype* c_diff = top[0]->cpu_diff();
  const Dtype* h_diff = top[1]->cpu_diff();
  Dtype* c_prev_diff = bottom[0]->mutable_cpu_diff();
  Dtype* x_diff = bottom[1]->mutable_cpu_diff();
  // The gates and tanh(c) as the forward left them: no exponential here.
  ParallelForElements(int64_t{num} * dim, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t n = k / dim, d = k % dim;
      Dtype* xn_diff = x_diff + n * 4 * dim;
      const Dtype* an = acts + n * 4 * dim;
      const Dtype i = an[d], f = an[dim + d], o = an[2 * dim + d], g = an[3 * dim + d];
      const Dtype tanh_c = tanh_cs[k];
      // d(loss)/dc through both tops: c itself and h = o tanh(c).
      const Dtype c_term = c_diff[k] + h_diff[k] * o * (Dtype(1) - tanh_c * tanh_c);
      c_prev_diff[k] = c_term * f;
      xn_diff[d] = c_term * g * i * (Dtype(1) - i);
      xn_diff[dim + d] = c_term * c_prev[k] * f * (Dtype(1) - f);
      xn_diff[2 * dim + d] = h_diff[k] * tanh_c * o * (Dtype(1) - o);
      xn_diff[3 * dim + d] = c_term * i * (Dtype(1) - g * g);
    }
  });
}

INSTANTIATE_CLASS(LSTMUnitLayer);
REGISTER_LAYER_CLASS(LSTMUnit);

}  // namespace deepspark
