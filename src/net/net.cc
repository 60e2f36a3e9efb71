#include "deepspark/net.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <sstream>

#include "deepspark/gpu.hpp"
#include "deepspark/gpu_math.hpp"
#include "deepspark/hdf5_snapshot.hpp"
#include "deepspark/insert_splits.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/upgrade_proto.hpp"

namespace deepspark {
namespace {
std::string LayerContext(const caffe::LayerParameter& p) {
  return "layer '" + p.name() + "' (type " + p.type() + "): ";
}

// Called inside a catch block around a layer's SetUp, Reshape, Forward or
// Backward: rethrows what the layer threw as a deepspark::Error naming the
// layer (once). A layer can fail on more than our own errors: oneDNN throws
// dnnl::error (out of memory, a primitive it cannot run), the standard
// library bad_alloc and length_error on sizes from the input; uncaught, they
// ended the process with an abort.
[[noreturn]] void RethrowNamingLayer(const caffe::LayerParameter& p) {
  try {
    throw;
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("layer '", 0) == 0) throw;
    throw Error(LayerContext(p) + what);
  } catch (const dnnl::error& e) {
    throw Error(LayerContext(p) + (e.status == dnnl_out_of_memory
                                       ? "oneDNN is out of memory (" + std::string(e.what()) + ")"
                                       : "oneDNN failed: " + std::string(e.what())));
  } catch (const std::bad_alloc&) {
    throw Error(LayerContext(p) + "out of host memory");
  } catch (const std::exception& e) {
    throw Error(LayerContext(p) + e.what());
  }
}

std::string GiB(uint64_t bytes) {
  std::ostringstream out;
  out.precision(3);
  out << bytes / double(uint64_t(1) << 30) << " GiB";
  return out.str();
}
}  // namespace

template <typename Dtype>
Net<Dtype>::Net(const caffe::NetParameter& param) {
  Init(param);
}

template <typename Dtype>
Net<Dtype>::Net(const std::string& param_file, caffe::Phase phase, int level,
                const std::vector<std::string>* stages) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(param_file, &param);
  param.mutable_state()->set_phase(phase);
  if (stages) {
    for (const auto& stage : *stages) param.mutable_state()->add_stage(stage);
  }
  param.mutable_state()->set_level(level);
  Init(param);
}

template <typename Dtype>
void Net<Dtype>::Init(const caffe::NetParameter& in_param) {
  phase_ = in_param.state().phase();
  caffe::NetParameter filtered_param;
  FilterNet(in_param, &filtered_param);
  caffe::NetParameter param;
  InsertSplits(filtered_param, &param);
  name_ = param.name();
  LOG(INFO) << "Initializing net '" << name_ << "' (phase "
            << (phase_ == caffe::TRAIN ? "TRAIN" : "TEST") << ")";

  std::map<std::string, int> blob_name_to_idx;
  std::set<std::string> available_blobs;
  const int num_layers = param.layer_size();
  bottom_vecs_.resize(num_layers);
  top_vecs_.resize(num_layers);
  bottom_id_vecs_.resize(num_layers);
  param_id_vecs_.resize(num_layers);
  top_id_vecs_.resize(num_layers);
  bottom_need_backward_.resize(num_layers);
  // The host memory of the blobs set up so far (CheckFitsInMemory).
  std::set<const SyncedMemory*> memory_seen;
  uint64_t memory_bytes = 0;
  for (int layer_id = 0; layer_id < num_layers; ++layer_id) {
    // Layers inherit the net's phase unless they set their own.
    if (!param.layer(layer_id).has_phase()) param.mutable_layer(layer_id)->set_phase(phase_);
    const caffe::LayerParameter& layer_param = param.layer(layer_id);
    REQUIRE(layer_param.propagate_down_size() == 0 ||
            layer_param.propagate_down_size() == layer_param.bottom_size())
        << LayerContext(layer_param) << "propagate_down must be given 0 or "
        << layer_param.bottom_size() << " (bottom count) times, not "
        << layer_param.propagate_down_size();
    try {
      layers_.push_back(LayerRegistry<Dtype>::CreateLayer(layer_param));
    } catch (...) {
      RethrowNamingLayer(layer_param);
    }
    layer_names_.push_back(layer_param.name());
    bool need_backward = false;
    for (int bottom_id = 0; bottom_id < layer_param.bottom_size(); ++bottom_id) {
      const int blob_id =
          AppendBottom(param, layer_id, bottom_id, &available_blobs, &blob_name_to_idx);
      need_backward |= blob_need_backward_[blob_id];
    }
    for (int top_id = 0; top_id < layer_param.top_size(); ++top_id) {
      AppendTop(param, layer_id, top_id, &available_blobs, &blob_name_to_idx);
      if (layer_param.type() == "Input") {
        const int blob_id = static_cast<int>(blobs_.size()) - 1;
        net_input_blob_indices_.push_back(blob_id);
        net_input_blobs_.push_back(blobs_[blob_id].get());
      }
    }
    Layer<Dtype>* layer = layers_[layer_id].get();
    if (layer->AutoTopBlobs()) {
      const int needed_num_top = std::max(layer->MinTopBlobs(), layer->ExactNumTopBlobs());
      for (int num_top = layer_param.top_size(); num_top < needed_num_top; ++num_top) {
        AppendTop(param, layer_id, num_top, nullptr, nullptr);
      }
    }
    try {
      layer->SetUp(bottom_vecs_[layer_id], top_vecs_[layer_id]);
    } catch (const Error& e) {
      throw Error(LayerContext(layer_param) + e.what());
    } catch (...) {
      RethrowNamingLayer(layer_param);
    }
    CheckFitsInMemory(layer_id, &memory_seen, &memory_bytes);
    for (size_t top_id = 0; top_id < top_vecs_[layer_id].size(); ++top_id) {
      const int blob_id = top_id_vecs_[layer_id][top_id];
      if (static_cast<int>(blob_loss_weights_.size()) <= blob_id) {
        blob_loss_weights_.resize(blob_id + 1, Dtype(0));
      }
      blob_loss_weights_[blob_id] = layer->loss(static_cast<int>(top_id));
      LOG(INFO) << "Top shape of " << layer_param.name() << " -> " << blob_names_[blob_id] << ": "
                << top_vecs_[layer_id][top_id]->shape_string()
                << (layer->loss(static_cast<int>(top_id))
                        ? " (loss weight " + std::to_string(layer->loss(top_id)) + ")"
                        : std::string());
    }
    const int param_size = layer_param.param_size();
    const int num_param_blobs = static_cast<int>(layer->blobs().size());
    REQUIRE(param_size <= num_param_blobs)
        << LayerContext(layer_param) << param_size << " param specs given but the layer has "
        << num_param_blobs << " parameter blobs";
    caffe::ParamSpec default_param_spec;
    for (int param_id = 0; param_id < num_param_blobs; ++param_id) {
      const caffe::ParamSpec* param_spec =
          (param_id < param_size) ? &layer_param.param(param_id) : &default_param_spec;
      const bool param_need_backward = param_spec->lr_mult() != 0;
      need_backward |= param_need_backward;
      layer->set_param_propagate_down(param_id, param_need_backward);
    }
    for (int param_id = 0; param_id < num_param_blobs; ++param_id) {
      AppendParam(param, layer_id, param_id);
    }
    layer_need_backward_.push_back(need_backward);
    if (need_backward) {
      for (int blob_id : top_id_vecs_[layer_id]) blob_need_backward_[blob_id] = true;
    }
  }

  // Walk backwards: a layer needs backward only if some loss depends on it
  // and some of its bottoms (or params) want gradients.
  std::set<std::string> blobs_under_loss;
  std::set<std::string> blobs_skip_backp;
  for (int layer_id = num_layers - 1; layer_id >= 0; --layer_id) {
    bool layer_contributes_loss = false;
    bool layer_skip_propagate_down = true;
    for (size_t top_id = 0; top_id < top_vecs_[layer_id].size(); ++top_id) {
      const std::string& blob_name = blob_names_[top_id_vecs_[layer_id][top_id]];
      if (layers_[layer_id]->loss(static_cast<int>(top_id)) || blobs_under_loss.count(blob_name)) {
        layer_contributes_loss = true;
      }
      if (!blobs_skip_backp.count(blob_name)) layer_skip_propagate_down = false;
      if (layer_contributes_loss && !layer_skip_propagate_down) break;
    }
    if (layer_need_backward_[layer_id] && layer_skip_propagate_down) {
      layer_need_backward_[layer_id] = false;
      std::fill(bottom_need_backward_[layer_id].begin(), bottom_need_backward_[layer_id].end(),
                false);
    }
    if (!layer_contributes_loss) layer_need_backward_[layer_id] = false;
    for (size_t bottom_id = 0; bottom_id < bottom_vecs_[layer_id].size(); ++bottom_id) {
      const std::string& blob_name = blob_names_[bottom_id_vecs_[layer_id][bottom_id]];
      if (layer_contributes_loss) {
        blobs_under_loss.insert(blob_name);
      } else {
        bottom_need_backward_[layer_id][bottom_id] = false;
      }
      if (!bottom_need_backward_[layer_id][bottom_id]) blobs_skip_backp.insert(blob_name);
    }
  }
  if (param.force_backward()) {
    for (int layer_id = 0; layer_id < num_layers; ++layer_id) {
      layer_need_backward_[layer_id] = true;
      for (size_t bottom_id = 0; bottom_id < bottom_need_backward_[layer_id].size(); ++bottom_id) {
        bottom_need_backward_[layer_id][bottom_id] =
            bottom_need_backward_[layer_id][bottom_id] ||
            layers_[layer_id]->AllowForceBackward(static_cast<int>(bottom_id));
        const int blob_id = bottom_id_vecs_[layer_id][bottom_id];
        blob_need_backward_[blob_id] =
            blob_need_backward_[blob_id] || bottom_need_backward_[layer_id][bottom_id];
      }
      for (size_t param_id = 0; param_id < layers_[layer_id]->blobs().size(); ++param_id) {
        layers_[layer_id]->set_param_propagate_down(static_cast<int>(param_id), true);
      }
    }
  }
  for (int layer_id = 0; layer_id < num_layers; ++layer_id) {
    LOG(INFO) << layer_names_[layer_id]
              << (layer_need_backward_[layer_id] ? " needs backward computation."
                                                 : " does not need backward computation.");
  }
  // Blobs no layer consumed are the net's outputs (in name order, as Caffe).
  for (const std::string& blob_name : available_blobs) {
    LOG(INFO) << "This network produces output " << blob_name;
    const int idx = blob_name_to_idx[blob_name];
    net_output_blobs_.push_back(blobs_[idx].get());
    net_output_blob_indices_.push_back(idx);
  }
  for (size_t i = 0; i < blob_names_.size(); ++i) blob_names_index_[blob_names_[i]] = i;
  for (size_t i = 0; i < layer_names_.size(); ++i) layer_names_index_[layer_names_[i]] = i;
  ShareWeights();
  debug_info_ = param.debug_info();
  LOG(INFO) << "Network initialization done.";
}

template <typename Dtype>
void Net<Dtype>::FilterNet(const caffe::NetParameter& param, caffe::NetParameter* param_filtered) {
  const caffe::NetState& net_state = param.state();
  param_filtered->CopyFrom(param);
  param_filtered->clear_layer();
  for (int i = 0; i < param.layer_size(); ++i) {
    const caffe::LayerParameter& layer_param = param.layer(i);
    const std::string& layer_name = layer_param.name();
    REQUIRE(layer_param.include_size() == 0 || layer_param.exclude_size() == 0)
        << "layer '" << layer_name << "' specifies both include and exclude rules; "
        << "use one or the other";
    // With no include rules a layer is in unless an exclude rule matches;
    // with include rules it is in only if one matches.
    bool layer_included = (layer_param.include_size() == 0);
    for (int j = 0; layer_included && j < layer_param.exclude_size(); ++j) {
      if (StateMeetsRule(net_state, layer_param.exclude(j), layer_name)) layer_included = false;
    }
    for (int j = 0; !layer_included && j < layer_param.include_size(); ++j) {
      if (StateMeetsRule(net_state, layer_param.include(j), layer_name)) layer_included = true;
    }
    if (layer_included) param_filtered->add_layer()->CopyFrom(layer_param);
  }
}

template <typename Dtype>
bool Net<Dtype>::StateMeetsRule(const caffe::NetState& state, const caffe::NetStateRule& rule,
                                const std::string& layer_name) {
  if (rule.has_phase() && rule.phase() != state.phase()) return false;
  if (rule.has_min_level() && state.level() < rule.min_level()) return false;
  if (rule.has_max_level() && state.level() > rule.max_level()) return false;
  for (int i = 0; i < rule.stage_size(); ++i) {
    bool has_stage = false;
    for (int j = 0; !has_stage && j < state.stage_size(); ++j) {
      if (rule.stage(i) == state.stage(j)) has_stage = true;
    }
    if (!has_stage) return false;
  }
  for (int i = 0; i < rule.not_stage_size(); ++i) {
    for (int j = 0; j < state.stage_size(); ++j) {
      if (rule.not_stage(i) == state.stage(j)) return false;
    }
  }
  return true;
}

template <typename Dtype>
void Net<Dtype>::AppendTop(const caffe::NetParameter& param, int layer_id, int top_id,
                           std::set<std::string>* available_blobs,
                           std::map<std::string, int>* blob_name_to_idx) {
  const caffe::LayerParameter& layer_param = param.layer(layer_id);
  const std::string blob_name =
      (layer_param.top_size() > top_id) ? layer_param.top(top_id) : "(automatic)";
  if (blob_name_to_idx && layer_param.bottom_size() > top_id &&
      blob_name == layer_param.bottom(top_id)) {
    // In-place: the top is the bottom at the same index.
    const int blob_id = (*blob_name_to_idx)[blob_name];
    top_vecs_[layer_id].push_back(blobs_[blob_id].get());
    top_id_vecs_[layer_id].push_back(blob_id);
  } else if (blob_name_to_idx && blob_name_to_idx->count(blob_name)) {
    THROW_ERROR() << LayerContext(layer_param) << "top blob '" << blob_name
                  << "' is produced by more than one layer";
  } else {
    auto blob_pointer = std::make_shared<Blob<Dtype>>();
    const int blob_id = static_cast<int>(blobs_.size());
    blobs_.push_back(blob_pointer);
    blob_names_.push_back(blob_name);
    blob_need_backward_.push_back(false);
    if (blob_name_to_idx) (*blob_name_to_idx)[blob_name] = blob_id;
    top_id_vecs_[layer_id].push_back(blob_id);
    top_vecs_[layer_id].push_back(blob_pointer.get());
  }
  if (available_blobs) available_blobs->insert(blob_name);
}

template <typename Dtype>
int Net<Dtype>::AppendBottom(const caffe::NetParameter& param, int layer_id, int bottom_id,
                             std::set<std::string>* available_blobs,
                             std::map<std::string, int>* blob_name_to_idx) {
  const caffe::LayerParameter& layer_param = param.layer(layer_id);
  const std::string& blob_name = layer_param.bottom(bottom_id);
  REQUIRE(available_blobs->count(blob_name)) << LayerContext(layer_param) << "unknown bottom blob '"
                                             << blob_name << "' (bottom index " << bottom_id << ")";
  const int blob_id = (*blob_name_to_idx)[blob_name];
  bottom_vecs_[layer_id].push_back(blobs_[blob_id].get());
  bottom_id_vecs_[layer_id].push_back(blob_id);
  available_blobs->erase(blob_name);
  bool need_backward = blob_need_backward_[blob_id];
  if (layer_param.propagate_down_size() > 0) need_backward = layer_param.propagate_down(bottom_id);
  bottom_need_backward_[layer_id].push_back(need_backward);
  return blob_id;
}

template <typename Dtype>
void Net<Dtype>::AppendParam(const caffe::NetParameter& param, int layer_id, int param_id) {
  const caffe::LayerParameter& layer_param = layers_[layer_id]->layer_param();
  const int param_size = layer_param.param_size();
  const std::string param_name = (param_size > param_id) ? layer_param.param(param_id).name() : "";
  param_display_names_.push_back(param_name.empty() ? std::to_string(param_id) : param_name);
  const int net_param_id = static_cast<int>(params_.size());
  params_.push_back(layers_[layer_id]->blobs()[param_id]);
  param_id_vecs_[layer_id].push_back(net_param_id);
  param_layer_indices_.push_back(std::make_pair(layer_id, param_id));
  caffe::ParamSpec default_param_spec;
  const caffe::ParamSpec* param_spec =
      (param_size > param_id) ? &layer_param.param(param_id) : &default_param_spec;
  if (param_name.empty() || !param_names_index_.count(param_name)) {
    // This layer owns the blob.
    param_owners_.push_back(-1);
    if (!param_name.empty()) param_names_index_[param_name] = net_param_id;
    const int learnable_param_id = static_cast<int>(learnable_params_.size());
    learnable_params_.push_back(params_[net_param_id].get());
    learnable_param_ids_.push_back(learnable_param_id);
    has_params_lr_.push_back(param_spec->has_lr_mult());
    has_params_decay_.push_back(param_spec->has_decay_mult());
    params_lr_.push_back(param_spec->lr_mult());
    params_weight_decay_.push_back(param_spec->decay_mult());
    return;
  }
  // A name seen before: share the owner's blob.
  const int owner_net_param_id = param_names_index_[param_name];
  param_owners_.push_back(owner_net_param_id);
  const auto& owner_index = param_layer_indices_[owner_net_param_id];
  Blob<Dtype>* this_blob = layers_[layer_id]->blobs()[param_id].get();
  Blob<Dtype>* owner_blob = layers_[owner_index.first]->blobs()[owner_index.second].get();
  if (param_spec->share_mode() == caffe::ParamSpec::PERMISSIVE) {
    REQUIRE(this_blob->count() == owner_blob->count())
        << LayerContext(layer_param) << "cannot share param '" << param_name << "': owner layer '"
        << layer_names_[owner_index.first] << "' has count " << owner_blob->count()
        << ", this layer " << this_blob->count();
  } else {
    REQUIRE(this_blob->shape() == owner_blob->shape())
        << LayerContext(layer_param) << "cannot share param '" << param_name << "': owner layer '"
        << layer_names_[owner_index.first] << "' has shape " << owner_blob->shape_string()
        << ", this layer " << this_blob->shape_string()
        << " (use share_mode: PERMISSIVE to require only equal counts)";
  }
  const int learnable_param_id = learnable_param_ids_[owner_net_param_id];
  learnable_param_ids_.push_back(learnable_param_id);
  if (param_spec->has_lr_mult()) {
    if (has_params_lr_[learnable_param_id]) {
      REQUIRE(param_spec->lr_mult() == params_lr_[learnable_param_id])
          << LayerContext(layer_param) << "shared param '" << param_name
          << "' has mismatched lr_mult";
    } else {
      has_params_lr_[learnable_param_id] = true;
      params_lr_[learnable_param_id] = param_spec->lr_mult();
    }
  }
  if (param_spec->has_decay_mult()) {
    if (has_params_decay_[learnable_param_id]) {
      REQUIRE(param_spec->decay_mult() == params_weight_decay_[learnable_param_id])
          << LayerContext(layer_param) << "shared param '" << param_name
          << "' has mismatched decay_mult";
    } else {
      has_params_decay_[learnable_param_id] = true;
      params_weight_decay_[learnable_param_id] = param_spec->decay_mult();
    }
  }
}

// Every top and parameter of the layer just set up, and all of the net's
// blobs so far, must fit in the memory this process can ever have: a shape
// too large for the machine is said now, naming its layer and blob, rather
// than found when the first forward allocates it (an "out of host memory"
// there, or the kernel killing the process). Blobs sharing memory (in-place
// layers, Split, Reshape, Flatten) count once; diffs are not counted (a
// TEST net never allocates them), so the total is a lower bound and never
// refuses a net that would fit.
template <typename Dtype>
void Net<Dtype>::CheckFitsInMemory(int layer_id, std::set<const SyncedMemory*>* seen,
                                   uint64_t* total) const {
  const uint64_t limit = HostMemoryLimit();
  Layer<Dtype>& layer = *layers_[layer_id];
  auto check = [&](const Blob<Dtype>& blob, const std::string& what) {
    const SyncedMemory* memory = blob.data().get();
    if (!memory || !seen->insert(memory).second) return;
    const uint64_t bytes = memory->size();
    *total += bytes;
    const char* hint =
        " this process can have (RAM and swap, or ulimit -v); reduce the batch size or the "
        "input shape";
    REQUIRE(bytes <= limit) << LayerContext(layer.layer_param()) << what << " of shape "
                            << blob.shape_string() << " needs " << GiB(bytes) << ", more than the "
                            << GiB(limit) << hint;
    REQUIRE(*total <= limit) << LayerContext(layer.layer_param()) << what << " of shape "
                             << blob.shape_string() << " brings the net's blobs to " << GiB(*total)
                             << ", more than the " << GiB(limit) << hint;
  };
  for (size_t i = 0; i < top_vecs_[layer_id].size(); ++i) {
    check(*top_vecs_[layer_id][i], "top '" + blob_names_[top_id_vecs_[layer_id][i]] + "'");
  }
  for (size_t i = 0; i < layer.blobs().size(); ++i) {
    check(*layer.blobs()[i], "param " + std::to_string(i));
  }
}

template <typename Dtype>
Dtype Net<Dtype>::ForwardFromTo(int start, int end) {
  CHECK_GE(start, 0);
  CHECK_LT(end, static_cast<int>(layers_.size()));
  Dtype loss = 0;
  for (int i = start; i <= end; ++i) {
    Dtype layer_loss = 0;
    try {
      layer_loss = layers_[i]->Forward(bottom_vecs_[i], top_vecs_[i]);
    } catch (...) {
      RethrowNamingLayer(layers_[i]->layer_param());
    }
    loss += layer_loss;
    if (debug_info_) ForwardDebugInfo(i);
  }
  return loss;
}

template <typename Dtype>
const std::vector<Blob<Dtype>*>& Net<Dtype>::Forward(Dtype* loss) {
  Dtype total = layers_.empty() ? Dtype(0) : ForwardFromTo(0, static_cast<int>(layers_.size()) - 1);
  if (loss != nullptr) *loss = total;
  return net_output_blobs_;
}

template <typename Dtype>
void Net<Dtype>::BackwardFromTo(int start, int end) {
  CHECK_GE(end, 0);
  CHECK_LT(start, static_cast<int>(layers_.size()));
  for (int i = start; i >= end; --i) {
    if (layer_need_backward_[i]) {
      try {
        layers_[i]->Backward(top_vecs_[i], bottom_need_backward_[i], bottom_vecs_[i]);
      } catch (...) {
        RethrowNamingLayer(layers_[i]->layer_param());
      }
      if (debug_info_) BackwardDebugInfo(i);
    }
  }
}

template <typename Dtype>
void Net<Dtype>::Backward() {
  if (layers_.empty()) return;
  BackwardFromTo(static_cast<int>(layers_.size()) - 1, 0);
  if (debug_info_) {
    Dtype asum_data = 0, asum_diff = 0, sumsq_data = 0, sumsq_diff = 0;
    for (Blob<Dtype>* param : learnable_params_) {
      asum_data += param->asum_data();
      asum_diff += param->asum_diff();
      sumsq_data += param->sumsq_data();
      sumsq_diff += param->sumsq_diff();
    }
    LOG(INFO) << "    [Backward] All net params (data, diff): L1 norm = (" << asum_data << ", "
              << asum_diff << "); L2 norm = (" << std::sqrt(sumsq_data) << ", "
              << std::sqrt(sumsq_diff) << ")";
  }
}

template <typename Dtype>
void Net<Dtype>::Reshape() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      layers_[i]->Reshape(bottom_vecs_[i], top_vecs_[i]);
    } catch (...) {
      RethrowNamingLayer(layers_[i]->layer_param());
    }
  }
}

template <typename Dtype>
void Net<Dtype>::ClearParamDiffs() {
  const bool gpu = CurrentComputeMode() == ComputeMode::kGpu;
  for (Blob<Dtype>* blob : learnable_params_) {
    if (gpu) {
      caffe_gpu_set(blob->count(), Dtype(0), blob->mutable_gpu_diff());
    } else {
      caffe_set(blob->count(), Dtype(0), blob->mutable_cpu_diff());
    }
  }
}

template <typename Dtype>
void Net<Dtype>::Update() {
  for (size_t i = 0; i < learnable_params_.size(); ++i) {
    learnable_params_[i]->Update();
  }
  if (debug_info_) {
    for (size_t i = 0; i < params_.size(); ++i) UpdateDebugInfo(static_cast<int>(i));
  }
}

template <typename Dtype>
void Net<Dtype>::ShareWeights() {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (param_owners_[i] < 0) continue;
    params_[i]->ShareData(*params_[param_owners_[i]]);
    params_[i]->ShareDiff(*params_[param_owners_[i]]);
  }
}

template <typename Dtype>
void Net<Dtype>::ShareTrainedLayersWith(const Net* other) {
  for (size_t i = 0; i < other->layers().size(); ++i) {
    const std::string& source_layer_name = other->layer_names()[i];
    auto it = layer_names_index_.find(source_layer_name);
    if (it == layer_names_index_.end()) continue;
    Layer<Dtype>* source_layer = other->layers()[i].get();
    auto& target_blobs = layers_[it->second]->blobs();
    REQUIRE(target_blobs.size() == source_layer->blobs().size())
        << "layer '" << source_layer_name << "': incompatible number of blobs ("
        << source_layer->blobs().size() << " vs " << target_blobs.size() << ")";
    for (size_t j = 0; j < target_blobs.size(); ++j) {
      Blob<Dtype>* source_blob = source_layer->blobs()[j].get();
      REQUIRE(target_blobs[j]->shape() == source_blob->shape())
          << "layer '" << source_layer_name << "' param " << j << ": cannot share, shape "
          << source_blob->shape_string() << " vs " << target_blobs[j]->shape_string();
      target_blobs[j]->ShareData(*source_blob);
    }
  }
}

template <typename Dtype>
int Net<Dtype>::CopyTrainedLayersFrom(const caffe::NetParameter& param) {
  int copied = 0;
  for (int i = 0; i < param.layer_size(); ++i) {
    const caffe::LayerParameter& source_layer = param.layer(i);
    const std::string& source_layer_name = source_layer.name();
    auto it = layer_names_index_.find(source_layer_name);
    if (it == layer_names_index_.end()) {
      LOG(INFO) << "Ignoring source layer " << source_layer_name;
      continue;
    }
    auto& target_blobs = layers_[it->second]->blobs();
    // A parameter HDF5 leaves out (another layer owns it) is empty or past
    // the end: fine where this net shares it too.
    auto absent = [&](int j) {
      return (j >= source_layer.blobs_size() || IsAbsentBlob(source_layer.blobs(j))) &&
             param_owners_[param_id_vecs_[it->second][j]] != -1;
    };
    const int target_count = static_cast<int>(target_blobs.size());
    bool counts_match = source_layer.blobs_size() <= target_count;
    for (int j = source_layer.blobs_size(); counts_match && j < target_count; ++j) {
      counts_match = absent(j);
    }
    REQUIRE(counts_match) << "layer '" << source_layer_name << "': the weights file has "
                          << source_layer.blobs_size()
                          << " parameter blobs but the net's layer has " << target_blobs.size();
    for (size_t j = 0; j < target_blobs.size(); ++j) {
      if (absent(static_cast<int>(j))) continue;
      if (!target_blobs[j]->ShapeEquals(source_layer.blobs(j))) {
        Blob<Dtype> source_blob;
        source_blob.Reshape(BlobProtoShape(source_layer.blobs(j)));
        THROW_ERROR() << "layer '" << source_layer_name << "': cannot copy param " << j
                      << " weights; shape mismatch. The weights file has "
                      << source_blob.shape_string() << ", the net expects "
                      << target_blobs[j]->shape_string()
                      << ". To learn this layer's parameters from scratch rather than copying "
                         "them, rename the layer.";
      }
      target_blobs[j]->FromProto(source_layer.blobs(j), false);
      // Caffe has no checksum; a flipped bit that made a NaN or Inf is what
      // can be detected, before it spreads through every output.
      const Dtype* values = target_blobs[j]->cpu_data();
      for (int k = 0; k < target_blobs[j]->count(); ++k) {
        REQUIRE(std::isfinite(static_cast<double>(values[k])))
            << "layer '" << source_layer_name << "': param " << j << " holds a non-finite value ("
            << values[k] << " at " << k << "): the weights are corrupt";
      }
    }
    if (!target_blobs.empty()) ++copied;
  }
  return copied;
}

template <typename Dtype>
void Net<Dtype>::CopyTrainedLayersFrom(const std::string& trained_filename) {
  caffe::NetParameter param;
  ReadNetParamsFromWeightsFile(trained_filename, &param);
  int copied = 0;
  try {
    copied = CopyTrainedLayersFrom(param);
  } catch (const Error& e) {
    throw Error(trained_filename + ": " + e.what());
  }
  // Weights of which nothing lands in the net (an empty file, another
  // model's weights) would leave it as initialized, and every score after
  // would look like a real result: refused, as a mistake.
  if (copied == 0 && !learnable_params_.empty()) {
    std::string have;
    for (int i = 0; i < param.layer_size() && i < 8; ++i) {
      have += (i ? ", " : "") + param.layer(i).name();
    }
    if (param.layer_size() > 8) have += ", ...";
    std::string want;
    int listed = 0;
    for (const auto& layer : layers_) {
      if (layer->blobs().empty()) continue;
      if (listed++ == 8) {
        want += ", ...";
        break;
      }
      want += (listed > 1 ? ", " : "") + layer->layer_param().name();
    }
    THROW_ERROR() << trained_filename << ": no layer of the weights file matches the net (the file "
                  << (param.layer_size() ? "has layers " + have : std::string("has no layers"))
                  << "; the net's layers with parameters are " << want
                  << "): wrong weights for this net?";
  }
}

template <typename Dtype>
void Net<Dtype>::ToProto(caffe::NetParameter* param, bool write_diff) const {
  param->Clear();
  param->set_name(name_);
  for (const auto& layer : layers_) {
    layer->ToProto(param->add_layer(), write_diff);
  }
}

template <typename Dtype>
void Net<Dtype>::ToHDF5(const std::string& filename, bool write_diff) const {
  caffe::NetParameter param;
  ToProto(&param, write_diff);
  for (size_t l = 0; l < layers_.size(); ++l) {
    auto* blobs = param.mutable_layer(static_cast<int>(l))->mutable_blobs();
    for (int j = 0; j < blobs->size(); ++j) {
      if (param_owners_[param_id_vecs_[l][j]] != -1) blobs->Mutable(j)->Clear();
    }
  }
  WriteNetParamsToHDF5File(param, filename, write_diff);
}

template <typename Dtype>
void Net<Dtype>::SeekData(uint64_t batches_consumed) {
  for (auto& layer : layers_) layer->SeekData(batches_consumed);
}

template <typename Dtype>
bool Net<Dtype>::has_blob(const std::string& blob_name) const {
  return blob_names_index_.count(blob_name) > 0;
}

template <typename Dtype>
std::shared_ptr<Blob<Dtype>> Net<Dtype>::blob_by_name(const std::string& blob_name) const {
  auto it = blob_names_index_.find(blob_name);
  REQUIRE(it != blob_names_index_.end())
      << "net '" << name_ << "' has no blob '" << blob_name << "'";
  return blobs_[it->second];
}

template <typename Dtype>
bool Net<Dtype>::has_layer(const std::string& layer_name) const {
  return layer_names_index_.count(layer_name) > 0;
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> Net<Dtype>::layer_by_name(const std::string& layer_name) const {
  auto it = layer_names_index_.find(layer_name);
  REQUIRE(it != layer_names_index_.end())
      << "net '" << name_ << "' has no layer '" << layer_name << "'";
  return layers_[it->second];
}

template <typename Dtype>
void Net<Dtype>::ForwardDebugInfo(int layer_id) {
  for (size_t top_id = 0; top_id < top_vecs_[layer_id].size(); ++top_id) {
    const Blob<Dtype>& blob = *top_vecs_[layer_id][top_id];
    const Dtype data_abs_val_mean = blob.count() ? blob.asum_data() / blob.count() : Dtype(0);
    LOG(INFO) << "    [Forward] Layer " << layer_names_[layer_id] << ", top blob "
              << blob_names_[top_id_vecs_[layer_id][top_id]] << " data: " << data_abs_val_mean;
  }
  for (size_t param_id = 0; param_id < layers_[layer_id]->blobs().size(); ++param_id) {
    const Blob<Dtype>& blob = *layers_[layer_id]->blobs()[param_id];
    const int net_param_id = param_id_vecs_[layer_id][param_id];
    const Dtype data_abs_val_mean = blob.count() ? blob.asum_data() / blob.count() : Dtype(0);
    LOG(INFO) << "    [Forward] Layer " << layer_names_[layer_id] << ", param blob "
              << param_display_names_[net_param_id] << " data: " << data_abs_val_mean;
  }
}

template <typename Dtype>
void Net<Dtype>::BackwardDebugInfo(int layer_id) {
  const auto& bottom_vec = bottom_vecs_[layer_id];
  for (size_t bottom_id = 0; bottom_id < bottom_vec.size(); ++bottom_id) {
    if (!bottom_need_backward_[layer_id][bottom_id]) continue;
    const Blob<Dtype>& blob = *bottom_vec[bottom_id];
    const Dtype diff_abs_val_mean = blob.count() ? blob.asum_diff() / blob.count() : Dtype(0);
    LOG(INFO) << "    [Backward] Layer " << layer_names_[layer_id] << ", bottom blob "
              << blob_names_[bottom_id_vecs_[layer_id][bottom_id]]
              << " diff: " << diff_abs_val_mean;
  }
  for (size_t param_id = 0; param_id < layers_[layer_id]->blobs().size(); ++param_id) {
    if (!layers_[layer_id]->param_propagate_down(static_cast<int>(param_id))) continue;
    const Blob<Dtype>& blob = *layers_[layer_id]->blobs()[param_id];
    const Dtype diff_abs_val_mean = blob.count() ? blob.asum_diff() / blob.count() : Dtype(0);
    LOG(INFO) << "    [Backward] Layer " << layer_names_[layer_id] << ", param blob " << param_id
              << " diff: " << diff_abs_val_mean;
  }
}

template <typename Dtype>
void Net<Dtype>::UpdateDebugInfo(int param_id) {
  const Blob<Dtype>& blob = *params_[param_id];
  const int param_owner = param_owners_[param_id];
  const std::string& layer_name = layer_names_[param_layer_indices_[param_id].first];
  const std::string& param_display_name = param_display_names_[param_id];
  const Dtype diff_abs_val_mean = blob.count() ? blob.asum_diff() / blob.count() : Dtype(0);
  if (param_owner < 0) {
    const Dtype data_abs_val_mean = blob.count() ? blob.asum_data() / blob.count() : Dtype(0);
    LOG(INFO) << "    [Update] Layer " << layer_name << ", param " << param_display_name
              << " data: " << data_abs_val_mean << "; diff: " << diff_abs_val_mean;
  } else {
    const std::string& owner_layer_name = layer_names_[param_layer_indices_[param_owner].first];
    LOG(INFO) << "    [Update] Layer " << layer_name << ", param blob " << param_display_name
              << " (owned by layer " << owner_layer_name << ", param "
              << param_display_names_[param_owners_[param_id]] << ")"
              << " diff: " << diff_abs_val_mean;
  }
}

INSTANTIATE_CLASS(Net);

}  // namespace deepspark
