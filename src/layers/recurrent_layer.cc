#include "deepspark/layers/recurrent_layer.hpp"

#include <utility>

#include "deepspark/math_functions.hpp"

namespace deepspark {

template <typename Dtype>
int RecurrentLayer<Dtype>::NumOutput() const {
  const int num_output = static_cast<int>(this->layer_param_.recurrent_param().num_output());
  REQUIRE(num_output > 0) << Where() << "recurrent_param.num_output must be positive, got "
                          << num_output;
  return num_output;
}

// Built only inside a failing REQUIRE's message, never per forward.
template <typename Dtype>
std::string RecurrentLayer<Dtype>::Where() const {
  return std::string(this->type()) + " '" + this->layer_param_.name() + "': ";
}

template <typename Dtype>
caffe::BlobShape RecurrentLayer<Dtype>::StateShape() const {
  caffe::BlobShape shape;
  shape.add_dim(1);  // one timestep
  shape.add_dim(N_);
  shape.add_dim(NumOutput());
  return shape;
}

// Counted before LayerSetUp, so read from the parameter, not expose_hidden_.
template <typename Dtype>
int RecurrentLayer<Dtype>::MinBottomBlobs() const {
  return 2 + (this->layer_param_.recurrent_param().expose_hidden() ? NumRecurrentBlobs() : 0);
}

template <typename Dtype>
int RecurrentLayer<Dtype>::ExactNumTopBlobs() const {
  return 1 + (this->layer_param_.recurrent_param().expose_hidden() ? NumRecurrentBlobs() : 0);
}

template <typename Dtype>
bool RecurrentLayer<Dtype>::AllowForceBackward(int bottom_index) const {
  // 0: x, 2: x_static when there is one; never cont or the exposed state.
  if (bottom_index == 0) return true;
  return bottom_index == 2 && static_input_;
}

template <typename Dtype>
void RecurrentLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 2)
      << Where() << "bottom 0 (x) must be T x N x ... (timesteps, streams, ...), got "
      << bottom[0]->shape_string();
  T_ = bottom[0]->shape(0);
  N_ = bottom[0]->shape(1);
  REQUIRE(T_ > 0) << Where() << "bottom 0 (x) has no timesteps: " << bottom[0]->shape_string();
  REQUIRE(bottom[1]->num_axes() == 2 && bottom[1]->shape(0) == T_ && bottom[1]->shape(1) == N_)
      << Where() << "bottom 1 (cont) must be T x N = " << T_ << " x " << N_ << ", got "
      << bottom[1]->shape_string();
  NumOutput();
  LOG(INFO) << Where() << T_ << " timesteps of " << N_ << " independent streams";

  expose_hidden_ = this->layer_param_.recurrent_param().expose_hidden();
  const std::vector<std::string> output_names = OutputBlobNames();
  const std::vector<std::string> recur_input_names = RecurrentInputBlobNames();
  const std::vector<std::string> recur_output_names = RecurrentOutputBlobNames();
  const int num_recur_blobs = static_cast<int>(recur_input_names.size());
  CHECK_EQ(num_recur_blobs, static_cast<int>(recur_output_names.size()));
  CHECK_EQ(num_recur_blobs, NumRecurrentBlobs());
  const int num_hidden_exposed = expose_hidden_ ? num_recur_blobs : 0;
  static_input_ = static_cast<int>(bottom.size()) > 2 + num_hidden_exposed;
  if (static_input_) {
    REQUIRE(bottom[2]->num_axes() >= 1 && bottom[2]->shape(0) == N_)
        << Where() << "bottom 2 (x_static) must be N x ... with N = " << N_ << ", got "
        << bottom[2]->shape_string();
  }

  // The unrolled net: its inputs, the architecture, then a pseudo-loss on
  // every output so that the net backpropagates to all of them (but, unlike
  // force_backward, not to cont).
  caffe::NetParameter net_param;
  net_param.set_name(this->layer_param_.name() + "_unrolled");
  net_param.mutable_state()->set_phase(this->phase_);
  caffe::LayerParameter* input = net_param.add_layer();
  input->set_name("input");
  input->set_type("Input");
  const int num_inputs = static_input_ ? 3 : 2;
  static const char* const kInputNames[] = {"x", "cont", "x_static"};
  for (int i = 0; i < num_inputs; ++i) {
    input->add_top(kInputNames[i]);
    caffe::BlobShape* shape = input->mutable_input_param()->add_shape();
    for (int d : bottom[i]->shape()) shape->add_dim(d);
  }
  FillUnrolledNet(&net_param);
  if (!this->layer_param_.name().empty()) {
    for (caffe::LayerParameter& layer : *net_param.mutable_layer()) {
      layer.set_name(this->layer_param_.name() + "_" + layer.name());
    }
  }
  std::vector<std::string> pseudo_losses;
  for (const std::string& output : output_names) {
    caffe::LayerParameter* loss = net_param.add_layer();
    pseudo_losses.push_back(output + "_pseudoloss");
    loss->set_name(pseudo_losses.back());
    loss->set_type("Reduction");
    loss->add_bottom(output);
    loss->add_top(pseudo_losses.back());
    loss->add_loss_weight(1);
  }
  unrolled_net_ = std::make_unique<Net<Dtype>>(net_param);
  unrolled_net_->set_debug_info(this->layer_param_.recurrent_param().debug_info());

  x_input_blob_ = CHECK_NOTNULL(unrolled_net_->blob_by_name("x").get());
  cont_input_blob_ = CHECK_NOTNULL(unrolled_net_->blob_by_name("cont").get());
  if (static_input_) {
    x_static_input_blob_ = CHECK_NOTNULL(unrolled_net_->blob_by_name("x_static").get());
  }
  recur_input_blobs_.clear();
  recur_output_blobs_.clear();
  for (int i = 0; i < num_recur_blobs; ++i) {
    recur_input_blobs_.push_back(
        CHECK_NOTNULL(unrolled_net_->blob_by_name(recur_input_names[i]).get()));
    recur_output_blobs_.push_back(
        CHECK_NOTNULL(unrolled_net_->blob_by_name(recur_output_names[i]).get()));
  }
  CHECK_EQ(static_cast<int>(top.size()) - num_hidden_exposed,
           static_cast<int>(output_names.size()));
  output_blobs_.clear();
  for (const std::string& name : output_names) {
    output_blobs_.push_back(CHECK_NOTNULL(unrolled_net_->blob_by_name(name).get()));
  }
  CHECK_EQ(num_inputs + num_recur_blobs, unrolled_net_->num_inputs());

  // This layer's parameters: the unrolled net's owners (each weight once,
  // however many steps use it). Values given with the layer (a deploy
  // prototxt with blobs) replace the fillers' ones.
  std::vector<std::shared_ptr<Blob<Dtype>>> given = std::move(this->blobs_);
  this->blobs_.clear();
  for (size_t i = 0; i < unrolled_net_->params().size(); ++i) {
    if (unrolled_net_->param_owners()[i] == -1) {
      this->blobs_.push_back(unrolled_net_->params()[i]);
    }
  }
  if (!given.empty()) {
    REQUIRE(given.size() == this->blobs_.size())
        << Where() << given.size() << " parameter blobs given, " << this->blobs_.size()
        << " expected";
    for (size_t i = 0; i < given.size(); ++i) {
      REQUIRE(given[i]->shape() == this->blobs_[i]->shape())
          << Where() << "parameter blob " << i << " has shape " << given[i]->shape_string() << ", "
          << this->blobs_[i]->shape_string() << " expected";
      this->blobs_[i]->CopyFrom(*given[i]);
    }
  }
  for (const auto& layer : unrolled_net_->layers()) {
    for (size_t j = 0; j < layer->blobs().size(); ++j) {
      CHECK(layer->param_propagate_down(static_cast<int>(j)));
    }
  }
  this->param_propagate_down_.assign(this->blobs_.size(), true);

  // No gradient comes from beyond the batch.
  for (Blob<Dtype>* blob : recur_output_blobs_) {
    caffe_set(blob->count(), Dtype(0), blob->mutable_cpu_diff());
  }
  const std::vector<std::string>& layer_names = unrolled_net_->layer_names();
  last_layer_index_ = static_cast<int>(layer_names.size() - 1 - pseudo_losses.size());
  for (size_t j = 0; j < pseudo_losses.size(); ++j) {
    CHECK_EQ(layer_names[last_layer_index_ + 1 + j], pseudo_losses[j]);
  }
}

template <typename Dtype>
void RecurrentLayer<Dtype>::Reshape(const std::vector<Blob<Dtype>*>& bottom,
                                    const std::vector<Blob<Dtype>*>& top) {
  REQUIRE(bottom[0]->num_axes() >= 2 && bottom[0]->shape(0) == T_)
      << Where() << "bottom 0 (x) must keep its " << T_ << " timesteps (fixed at setup), got "
      << bottom[0]->shape_string();
  N_ = bottom[0]->shape(1);
  REQUIRE(bottom[1]->num_axes() == 2 && bottom[1]->shape(0) == T_ && bottom[1]->shape(1) == N_)
      << Where() << "bottom 1 (cont) must be T x N = " << T_ << " x " << N_ << ", got "
      << bottom[1]->shape_string();
  if (static_input_) {
    REQUIRE(bottom[2]->shape(0) == N_ && bottom[2]->count(1) == x_static_input_blob_->count(1))
        << Where() << "bottom 2 (x_static) must be N x ... with N = " << N_ << ", got "
        << bottom[2]->shape_string();
  }
  x_input_blob_->ReshapeLike(*bottom[0]);
  cont_input_blob_->ReshapeLike(*bottom[1]);
  if (static_input_) x_static_input_blob_->ReshapeLike(*bottom[2]);
  for (Blob<Dtype>* state : recur_input_blobs_) state->Reshape(StateShape());
  unrolled_net_->Reshape();

  x_input_blob_->ShareData(*bottom[0]);
  x_input_blob_->ShareDiff(*bottom[0]);
  cont_input_blob_->ShareData(*bottom[1]);
  if (static_input_) {
    x_static_input_blob_->ShareData(*bottom[2]);
    x_static_input_blob_->ShareDiff(*bottom[2]);
  }
  if (expose_hidden_) {
    const int offset = 2 + (static_input_ ? 1 : 0);
    for (size_t j = 0; j < recur_input_blobs_.size(); ++j) {
      REQUIRE(recur_input_blobs_[j]->shape() == bottom[offset + j]->shape())
          << Where() << "bottom " << offset + j << " (initial state) must be "
          << recur_input_blobs_[j]->shape_string() << ", got "
          << bottom[offset + j]->shape_string();
      recur_input_blobs_[j]->ShareData(*bottom[offset + j]);
    }
  }
  for (size_t i = 0; i < output_blobs_.size(); ++i) {
    top[i]->ReshapeLike(*output_blobs_[i]);
    top[i]->ShareData(*output_blobs_[i]);
    top[i]->ShareDiff(*output_blobs_[i]);
  }
  if (expose_hidden_) {
    for (size_t j = 0; j < recur_output_blobs_.size(); ++j) {
      top[output_blobs_.size() + j]->ReshapeLike(*recur_output_blobs_[j]);
    }
  }
}

template <typename Dtype>
void RecurrentLayer<Dtype>::Reset() {
  for (Blob<Dtype>* blob : recur_output_blobs_) {
    caffe_set(blob->count(), Dtype(0), blob->mutable_cpu_data());
  }
}

template <typename Dtype>
void RecurrentLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  // The steps' copies of a weight point at the owner's memory; the owner's
  // memory may have been replaced since (a test net sharing the train net's
  // weights), so they are pointed at it again: pointer copies, T per weight.
  unrolled_net_->ShareWeights();
  if (!expose_hidden_) {
    // The state at the end of the last batch starts this one.
    for (size_t i = 0; i < recur_input_blobs_.size(); ++i) {
      const int count = recur_input_blobs_[i]->count();
      CHECK_EQ(count, recur_output_blobs_[i]->count());
      caffe_copy(count, recur_output_blobs_[i]->cpu_data(),
                 recur_input_blobs_[i]->mutable_cpu_data());
    }
  }
  unrolled_net_->ForwardTo(last_layer_index_);
  if (expose_hidden_) {
    for (size_t j = 0; j < recur_output_blobs_.size(); ++j) {
      top[output_blobs_.size() + j]->ShareData(*recur_output_blobs_[j]);
    }
  }
}

template <typename Dtype>
void RecurrentLayer<Dtype>::Backward_cpu(const std::vector<Blob<Dtype>*>& top,
                                         const std::vector<bool>& propagate_down,
                                         const std::vector<Blob<Dtype>*>& bottom) {
  REQUIRE(!propagate_down[1]) << Where()
                              << "cannot backpropagate to the sequence indicators (cont)";
  // Backpropagates to x, x_static and the parameters alike: the net asks for
  // this layer's backward only when one of them needs it.
  unrolled_net_->BackwardFromTo(last_layer_index_, 0);
  if (expose_hidden_) {
    // As Caffe: no gradient reaches the given initial state; said as zeros
    // rather than left unwritten.
    const size_t offset = 2 + (static_input_ ? 1 : 0);
    for (size_t i = offset; i < bottom.size(); ++i) {
      if (propagate_down[i]) caffe_set(bottom[i]->count(), Dtype(0), bottom[i]->mutable_cpu_diff());
    }
  }
}

INSTANTIATE_CLASS(RecurrentLayer);

}  // namespace deepspark
