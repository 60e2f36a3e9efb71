// RecurrentLayer: the base of LSTM and RNN, as Caffe's. The layer builds a
// net of ordinary layers that unrolls the recurrence over the T timesteps of
// its input (FillUnrolledNet, one set of layers per step, the weights shared
// across steps by param name) and runs it inside Forward and Backward.
//
// Bottoms: x (T x N x ...: T timesteps of N independent streams), cont
// (T x N: 0 where a sequence starts, so the hidden state is reset there;
// any other value scales the previous state), optionally x_static (N x ...:
// the same input at every step), then, with recurrent_param.expose_hidden,
// the initial recurrent state (LSTM: h_0 and c_0, RNN: h_0; each 1 x N x
// num_output). Tops: the output sequence (T x N x num_output), then, with
// expose_hidden, the final recurrent state (LSTM: h_T and c_T, RNN: h_T).
//
// The layer's parameter blobs are the unrolled net's distinct ones, in
// Caffe's order and shapes (a .caffemodel moves between the two as it is):
// LSTM: W_xc (4D x I), b_c (4D), [W_xc_static (4D x S)], W_hc (4D x D);
// RNN: W_xh (D x I), b_h (D), [W_xh_static (D x S)], W_hh (D x D), W_ho
// (D x D), b_o (D); D = num_output, I = x's count from axis 2, S =
// x_static's from axis 1.
//
// Without expose_hidden the final state of one batch is the initial state of
// the next (streams go on across batches); gradients do not flow across
// batches (truncated backpropagation through time), nor to cont, nor (as
// Caffe) to an exposed initial state or from an exposed final state. T is
// fixed at setup; N may change between batches.
//
// Thread safety: a layer is used by one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepspark/layer.hpp"
#include "deepspark/net.hpp"

namespace deepspark {

template <typename Dtype>
class RecurrentLayer : public Layer<Dtype> {
 public:
  explicit RecurrentLayer(const caffe::LayerParameter& param) : Layer<Dtype>(param) {}
  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override;
  // Zeroes the recurrent state carried to the next batch.
  void Reset();

  int MinBottomBlobs() const override;
  int MaxBottomBlobs() const override { return MinBottomBlobs() + 1; }  // + x_static
  int ExactNumTopBlobs() const override;
  // No gradient reaches cont or an exposed initial state.
  bool AllowForceBackward(int bottom_index) const override;

  // The unrolled net (for inspection and tests).
  const Net<Dtype>& unrolled_net() const { return *unrolled_net_; }

 protected:
  // Adds the architecture's layers to `net_param`, which already holds an
  // Input layer with tops "x", "cont" and (static_input_) "x_static".
  virtual void FillUnrolledNet(caffe::NetParameter* net_param) const = 0;
  // Names of the unrolled net's blobs: the recurrent state at step 0 and at
  // step T (pairwise), and the layer's outputs.
  virtual std::vector<std::string> RecurrentInputBlobNames() const = 0;
  virtual std::vector<std::string> RecurrentOutputBlobNames() const = 0;
  virtual std::vector<std::string> OutputBlobNames() const = 0;
  virtual int NumRecurrentBlobs() const = 0;
  // The shape of each recurrent state blob: 1 x N x num_output.
  caffe::BlobShape StateShape() const;

  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override;

  // The recurrent_param num_output, checked positive.
  int NumOutput() const;
  // "LSTM 'name': ", the start of this layer's error messages.
  std::string Where() const;

  int T_ = 0;  // timesteps
  int N_ = 0;  // independent streams
  bool static_input_ = false;
  bool expose_hidden_ = false;

 private:
  std::unique_ptr<Net<Dtype>> unrolled_net_;
  Blob<Dtype>* x_input_blob_ = nullptr;
  Blob<Dtype>* cont_input_blob_ = nullptr;
  Blob<Dtype>* x_static_input_blob_ = nullptr;
  std::vector<Blob<Dtype>*> recur_input_blobs_;
  std::vector<Blob<Dtype>*> recur_output_blobs_;
  std::vector<Blob<Dtype>*> output_blobs_;
  // The last layer run: the pseudo-losses after it exist only so that the
  // unrolled net backpropagates to every output.
  int last_layer_index_ = 0;
};

}  // namespace deepspark
