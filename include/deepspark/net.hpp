// Net: the DAG of layers built from a NetParameter, as Caffe builds it:
// phase/stage/level filtering, automatic Split layers where a blob feeds
// several bottoms, in-place layers, weights shared by ParamSpec name,
// lr_mult/decay_mult, loss_weight, propagate_down, force_backward, and the
// pruning of backward where no loss depends on a layer.
//
// Errors in the definition (unknown layer type, missing bottom, bad shapes,
// a blob larger than the machine's memory) throw deepspark::Error naming the
// layer and blob. Whatever a layer throws in SetUp, Reshape, Forward or
// Backward (a deepspark::Error, oneDNN's dnnl::error, std::bad_alloc) reaches
// the caller as a deepspark::Error naming the layer.
// Thread safety: a Net is used by one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/layer.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace deepspark {

template <typename Dtype>
class Net {
 public:
  explicit Net(const caffe::NetParameter& param);
  // Reads (and upgrades) a text prototxt, sets the state's phase, level and
  // stages, then builds.
  Net(const std::string& param_file, caffe::Phase phase, int level = 0,
      const std::vector<std::string>* stages = nullptr);

  // Runs every layer's forward; *loss (if given) gets the total loss.
  const std::vector<Blob<Dtype>*>& Forward(Dtype* loss = nullptr);
  Dtype ForwardFromTo(int start, int end);
  Dtype ForwardFrom(int start) {
    return ForwardFromTo(start, static_cast<int>(layers_.size()) - 1);
  }
  Dtype ForwardTo(int end) { return ForwardFromTo(0, end); }
  void Backward();
  void BackwardFromTo(int start, int end);
  // Reshapes every layer (after an input blob changed shape).
  void Reshape();
  Dtype ForwardBackward() {
    Dtype loss;
    Forward(&loss);
    Backward();
    return loss;
  }
  // Zeroes every learnable parameter's diff.
  void ClearParamDiffs();
  // w -= diff for every learnable (owner) parameter.
  void Update();
  // Makes shared parameters point at their owners' memory (called by Init).
  void ShareWeights();

  // Shares (not copies) the parameter blobs of layers with the same names in
  // `other` (used by test nets to see the train net's weights).
  void ShareTrainedLayersWith(const Net* other);
  // Copies parameters by layer name from a NetParameter (a loaded
  // .caffemodel); layers absent from this net are ignored (fine-tuning).
  // A blob-count or shape mismatch, or a non-finite value, throws
  // deepspark::Error naming the layer and blob. Returns how many layers
  // with parameters were copied. An empty BlobProto, or fewer blobs than
  // the layer has, stands for a parameter an HDF5 snapshot leaves out
  // because another layer owns it: accepted only where this net shares it.
  int CopyTrainedLayersFrom(const caffe::NetParameter& param);
  // Reads a .caffemodel, binary (upgrading V0/V1) or HDF5 (told apart by
  // content, as Caffe), and copies from it; a file of which no layer
  // matches a net that has parameters is refused.
  void CopyTrainedLayersFrom(const std::string& trained_filename);
  // Writes the net as used (after filtering, upgrading and Split insertion)
  // with its parameter blobs, as Caffe's Net::ToProto does.
  void ToProto(caffe::NetParameter* param, bool write_diff = false) const;
  // Writes the parameters as Caffe's Net::ToHDF5 (hdf5_snapshot.hpp): a
  // group per layer, shared parameters by their owner only.
  void ToHDF5(const std::string& filename, bool write_diff = false) const;

  // Tells data layers how many batches they have already delivered (after a
  // resume), so a resumed run reads the same items as an uninterrupted one.
  void SeekData(uint64_t batches_consumed);

  const std::string& name() const { return name_; }
  caffe::Phase phase() const { return phase_; }
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  const std::vector<std::string>& blob_names() const { return blob_names_; }
  const std::vector<std::shared_ptr<Blob<Dtype>>>& blobs() const { return blobs_; }
  const std::vector<std::shared_ptr<Layer<Dtype>>>& layers() const { return layers_; }
  const std::vector<std::vector<Blob<Dtype>*>>& bottom_vecs() const { return bottom_vecs_; }
  const std::vector<std::vector<Blob<Dtype>*>>& top_vecs() const { return top_vecs_; }
  const std::vector<int>& top_ids(int i) const { return top_id_vecs_[i]; }
  const std::vector<int>& bottom_ids(int i) const { return bottom_id_vecs_[i]; }
  const std::vector<std::vector<bool>>& bottom_need_backward() const {
    return bottom_need_backward_;
  }
  const std::vector<Dtype>& blob_loss_weights() const { return blob_loss_weights_; }
  const std::vector<bool>& layer_need_backward() const { return layer_need_backward_; }
  // All parameter blobs, shared ones included (one entry per use).
  const std::vector<std::shared_ptr<Blob<Dtype>>>& params() const { return params_; }
  // The distinct learnable blobs (owners only), in net order: the order of
  // solver history and of the flat parameter vector used by dist/.
  const std::vector<Blob<Dtype>*>& learnable_params() const { return learnable_params_; }
  const std::vector<float>& params_lr() const { return params_lr_; }
  const std::vector<bool>& has_params_lr() const { return has_params_lr_; }
  const std::vector<float>& params_weight_decay() const { return params_weight_decay_; }
  const std::vector<bool>& has_params_decay() const { return has_params_decay_; }
  const std::vector<int>& param_owners() const { return param_owners_; }
  const std::vector<std::string>& param_display_names() const { return param_display_names_; }
  int num_inputs() const { return static_cast<int>(net_input_blobs_.size()); }
  int num_outputs() const { return static_cast<int>(net_output_blobs_.size()); }
  const std::vector<Blob<Dtype>*>& input_blobs() const { return net_input_blobs_; }
  const std::vector<Blob<Dtype>*>& output_blobs() const { return net_output_blobs_; }
  const std::vector<int>& input_blob_indices() const { return net_input_blob_indices_; }
  const std::vector<int>& output_blob_indices() const { return net_output_blob_indices_; }
  bool has_blob(const std::string& blob_name) const;
  std::shared_ptr<Blob<Dtype>> blob_by_name(const std::string& blob_name) const;
  bool has_layer(const std::string& layer_name) const;
  std::shared_ptr<Layer<Dtype>> layer_by_name(const std::string& layer_name) const;
  void set_debug_info(bool value) { debug_info_ = value; }

  // Removes layers whose include/exclude rules do not match param.state().
  static void FilterNet(const caffe::NetParameter& param, caffe::NetParameter* param_filtered);
  static bool StateMeetsRule(const caffe::NetState& state, const caffe::NetStateRule& rule,
                             const std::string& layer_name);

 private:
  void Init(const caffe::NetParameter& param);
  void AppendTop(const caffe::NetParameter& param, int layer_id, int top_id,
                 std::set<std::string>* available_blobs,
                 std::map<std::string, int>* blob_name_to_idx);
  int AppendBottom(const caffe::NetParameter& param, int layer_id, int bottom_id,
                   std::set<std::string>* available_blobs,
                   std::map<std::string, int>* blob_name_to_idx);
  void AppendParam(const caffe::NetParameter& param, int layer_id, int param_id);
  // Throws when a top or param of layer `layer_id`, or the net's blobs so far
  // (`seen`, `total` in bytes, updated), cannot fit in HostMemoryLimit().
  void CheckFitsInMemory(int layer_id, std::set<const SyncedMemory*>* seen, uint64_t* total) const;
  void ForwardDebugInfo(int layer_id);
  void BackwardDebugInfo(int layer_id);
  void UpdateDebugInfo(int param_id);

  std::string name_;
  caffe::Phase phase_ = caffe::TEST;
  std::vector<std::shared_ptr<Layer<Dtype>>> layers_;
  std::vector<std::string> layer_names_;
  std::map<std::string, int> layer_names_index_;
  std::vector<bool> layer_need_backward_;
  std::vector<std::shared_ptr<Blob<Dtype>>> blobs_;
  std::vector<std::string> blob_names_;
  std::map<std::string, int> blob_names_index_;
  std::vector<bool> blob_need_backward_;
  std::vector<std::vector<Blob<Dtype>*>> bottom_vecs_;
  std::vector<std::vector<int>> bottom_id_vecs_;
  std::vector<std::vector<bool>> bottom_need_backward_;
  std::vector<std::vector<Blob<Dtype>*>> top_vecs_;
  std::vector<std::vector<int>> top_id_vecs_;
  std::vector<Dtype> blob_loss_weights_;
  std::vector<std::vector<int>> param_id_vecs_;
  std::vector<int> param_owners_;
  std::vector<std::string> param_display_names_;
  std::vector<std::pair<int, int>> param_layer_indices_;
  std::map<std::string, int> param_names_index_;
  std::vector<int> net_input_blob_indices_;
  std::vector<int> net_output_blob_indices_;
  std::vector<Blob<Dtype>*> net_input_blobs_;
  std::vector<Blob<Dtype>*> net_output_blobs_;
  std::vector<std::shared_ptr<Blob<Dtype>>> params_;
  std::vector<Blob<Dtype>*> learnable_params_;
  std::vector<int> learnable_param_ids_;
  std::vector<float> params_lr_;
  std::vector<bool> has_params_lr_;
  std::vector<float> params_weight_decay_;
  std::vector<bool> has_params_decay_;
  bool debug_info_ = false;

  DISABLE_COPY_AND_ASSIGN(Net);
};

}  // namespace deepspark
