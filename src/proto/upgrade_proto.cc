// Upgrades of old net and solver definitions (FORMAT.md sections 3g and 4).
//
// The steps run in Caffe's order: V0 -> V1 (padding layers folded first),
// data-transform fields -> transform_param, V1 -> V2, input fields -> Input
// layer, BatchNorm param specs. Problems Caffe only warns about (a V0 field
// that the layer type does not use) are logged and the field is dropped;
// problems Caffe aborts on throw deepspark::Error. The V0 step lives in
// upgrade_v0.cc.
#include "deepspark/upgrade_proto.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <filesystem>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "upgrade_v0.hpp"

namespace deepspark {
namespace {

using caffe::NetParameter;
using caffe::V1LayerParameter;

// ------------------------------------------------- data-transform fields

template <typename DataParam>
bool HasTransformFields(const DataParam& p) {
  return p.has_scale() || p.has_mean_file() || p.has_crop_size() || p.has_mirror();
}

// Moves scale/mean_file/crop_size/mirror of a V1 data layer's own parameter
// message into transform_param.
template <typename DataParam>
void MoveTransformFields(DataParam* p, caffe::TransformationParameter* tp) {
  if (!HasTransformFields(*p)) return;
  if (p->has_scale()) tp->set_scale(p->scale());
  if (p->has_mean_file()) tp->set_mean_file(p->mean_file());
  if (p->has_crop_size()) tp->set_crop_size(p->crop_size());
  if (p->has_mirror()) tp->set_mirror(p->mirror());
  p->clear_scale();
  p->clear_mean_file();
  p->clear_crop_size();
  p->clear_mirror();
}

bool LayerNeedsDataUpgrade(const V1LayerParameter& l) {
  switch (l.type()) {
    case V1LayerParameter::DATA: return HasTransformFields(l.data_param());
    case V1LayerParameter::IMAGE_DATA: return HasTransformFields(l.image_data_param());
    case V1LayerParameter::WINDOW_DATA: return HasTransformFields(l.window_data_param());
    default: return false;
  }
}

void UpgradeLayerData(V1LayerParameter* l) {
  if (!LayerNeedsDataUpgrade(*l)) return;
  caffe::TransformationParameter* tp = l->mutable_transform_param();
  if (l->type() == V1LayerParameter::DATA) MoveTransformFields(l->mutable_data_param(), tp);
  if (l->type() == V1LayerParameter::IMAGE_DATA) {
    MoveTransformFields(l->mutable_image_data_param(), tp);
  }
  if (l->type() == V1LayerParameter::WINDOW_DATA) {
    MoveTransformFields(l->mutable_window_data_param(), tp);
  }
}

bool NetNeedsDataUpgrade(const NetParameter& net) {
  for (const auto& l : net.layers()) {
    if (LayerNeedsDataUpgrade(l)) return true;
  }
  return false;
}

// ---------------------------------------------------------------- V1 -> V2

const char* V1TypeToString(const std::string& source, V1LayerParameter::LayerType type) {
  switch (type) {
    case V1LayerParameter::NONE: return "";
    case V1LayerParameter::ABSVAL: return "AbsVal";
    case V1LayerParameter::ACCURACY: return "Accuracy";
    case V1LayerParameter::ARGMAX: return "ArgMax";
    case V1LayerParameter::BNLL: return "BNLL";
    case V1LayerParameter::CONCAT: return "Concat";
    case V1LayerParameter::CONTRASTIVE_LOSS: return "ContrastiveLoss";
    case V1LayerParameter::CONVOLUTION: return "Convolution";
    case V1LayerParameter::DECONVOLUTION: return "Deconvolution";
    case V1LayerParameter::DATA: return "Data";
    case V1LayerParameter::DROPOUT: return "Dropout";
    case V1LayerParameter::DUMMY_DATA: return "DummyData";
    case V1LayerParameter::EUCLIDEAN_LOSS: return "EuclideanLoss";
    case V1LayerParameter::ELTWISE: return "Eltwise";
    case V1LayerParameter::EXP: return "Exp";
    case V1LayerParameter::FLATTEN: return "Flatten";
    case V1LayerParameter::HDF5_DATA: return "HDF5Data";
    case V1LayerParameter::HDF5_OUTPUT: return "HDF5Output";
    case V1LayerParameter::HINGE_LOSS: return "HingeLoss";
    case V1LayerParameter::IM2COL: return "Im2col";
    case V1LayerParameter::IMAGE_DATA: return "ImageData";
    case V1LayerParameter::INFOGAIN_LOSS: return "InfogainLoss";
    case V1LayerParameter::INNER_PRODUCT: return "InnerProduct";
    case V1LayerParameter::LRN: return "LRN";
    case V1LayerParameter::MEMORY_DATA: return "MemoryData";
    case V1LayerParameter::MULTINOMIAL_LOGISTIC_LOSS: return "MultinomialLogisticLoss";
    case V1LayerParameter::MVN: return "MVN";
    case V1LayerParameter::POOLING: return "Pooling";
    case V1LayerParameter::POWER: return "Power";
    case V1LayerParameter::RELU: return "ReLU";
    case V1LayerParameter::SIGMOID: return "Sigmoid";
    case V1LayerParameter::SIGMOID_CROSS_ENTROPY_LOSS: return "SigmoidCrossEntropyLoss";
    case V1LayerParameter::SILENCE: return "Silence";
    case V1LayerParameter::SOFTMAX: return "Softmax";
    case V1LayerParameter::SOFTMAX_LOSS: return "SoftmaxWithLoss";
    case V1LayerParameter::SPLIT: return "Split";
    case V1LayerParameter::SLICE: return "Slice";
    case V1LayerParameter::TANH: return "TanH";
    case V1LayerParameter::WINDOW_DATA: return "WindowData";
    case V1LayerParameter::THRESHOLD: return "Threshold";
  }
  THROW_ERROR() << source << ": unknown V1 layer type " << static_cast<int>(type);
  return "";
}

caffe::ParamSpec* ParamAt(caffe::LayerParameter* layer, int i) {
  while (layer->param_size() <= i) layer->add_param();
  return layer->mutable_param(i);
}

// Copies every "*_param" message of a V1 layer into the V2 field of the same
// name. The message types are shared, so reflection finds them all and a
// field added to both schemas later is copied too.
void CopyLayerParams(const V1LayerParameter& v1, caffe::LayerParameter* v2) {
  const auto* v1_refl = v1.GetReflection();
  const auto* v2_desc = v2->GetDescriptor();
  const auto* v2_refl = v2->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  v1_refl->ListFields(v1, &fields);
  for (const auto* f : fields) {
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE || f->is_repeated()) continue;
    const std::string& name = f->name();
    if (name.size() < 6 || name.compare(name.size() - 6, 6, "_param") != 0) continue;
    const auto* target = v2_desc->FindFieldByName(name);
    CHECK(target != nullptr && target->message_type() == f->message_type())
        << "V1 field " << name << " has no V2 counterpart";
    v2_refl->MutableMessage(v2, target)->CopyFrom(v1_refl->GetMessage(v1, f));
  }
}

// Moves the weights out of `v1` (a V1 caffemodel can hold hundreds of MB).
bool UpgradeV1Layer(const std::string& source, V1LayerParameter* v1_mutable,
                    caffe::LayerParameter* v2) {
  const V1LayerParameter& v1 = *v1_mutable;
  v2->Clear();
  *v2->mutable_bottom() = v1.bottom();
  *v2->mutable_top() = v1.top();
  if (v1.has_name()) v2->set_name(v1.name());
  if (v1.has_type()) v2->set_type(V1TypeToString(source, v1.type()));
  v2->mutable_blobs()->Swap(v1_mutable->mutable_blobs());
  for (int i = 0; i < v1.param_size(); ++i) ParamAt(v2, i)->set_name(v1.param(i));
  for (int i = 0; i < v1.blob_share_mode_size(); ++i) {
    ParamAt(v2, i)->set_share_mode(v1.blob_share_mode(i) == V1LayerParameter::PERMISSIVE
                                       ? caffe::ParamSpec::PERMISSIVE
                                       : caffe::ParamSpec::STRICT);
  }
  for (int i = 0; i < v1.blobs_lr_size(); ++i) ParamAt(v2, i)->set_lr_mult(v1.blobs_lr(i));
  for (int i = 0; i < v1.weight_decay_size(); ++i) {
    ParamAt(v2, i)->set_decay_mult(v1.weight_decay(i));
  }
  *v2->mutable_loss_weight() = v1.loss_weight();
  *v2->mutable_include() = v1.include();
  *v2->mutable_exclude() = v1.exclude();
  CopyLayerParams(v1, v2);
  if (v1.has_layer()) {
    LOG(ERROR) << source << ": V1 layer \"" << v1.name() << "\" still holds a V0 layer; ignored";
    return false;
  }
  return true;
}

bool UpgradeV1Net(const std::string& source, NetParameter* net) {
  REQUIRE(net->layer_size() == 0)
      << source << ": the net has both 'layer' (current) and 'layers' (deprecated V1) "
      << "fields; use only one of them";
  bool ok = true;
  google::protobuf::RepeatedPtrField<V1LayerParameter> old_layers;
  old_layers.Swap(net->mutable_layers());
  for (int i = 0; i < old_layers.size(); ++i) {
    if (!UpgradeV1Layer(source, old_layers.Mutable(i), net->add_layer())) {
      LOG(ERROR) << source << ": upgrade of layer " << i << " was incomplete";
      ok = false;
    }
  }
  return ok;
}

// ------------------------------------------------------ input -> Input layer

void UpgradeNetInput(const std::string& source, NetParameter* net) {
  const bool has_shape = net->input_shape_size() > 0;
  const bool has_dim = net->input_dim_size() > 0;
  if (has_shape || has_dim) {
    if (has_shape) {
      REQUIRE(net->input_shape_size() == net->input_size())
          << source << ": " << net->input_size() << " input(s) but " << net->input_shape_size()
          << " input_shape(s); give one shape per input";
    } else {
      REQUIRE(net->input_dim_size() == 4 * net->input_size())
          << source << ": " << net->input_size() << " input(s) need "
          << 4 * net->input_size() << " input_dim values, got " << net->input_dim_size();
    }
    caffe::LayerParameter input;
    input.set_name("input");
    input.set_type("Input");
    caffe::InputParameter* ip = input.mutable_input_param();
    for (int i = 0; i < net->input_size(); ++i) {
      input.add_top(net->input(i));
      if (has_shape) {
        *ip->add_shape() = net->input_shape(i);
      } else {
        caffe::BlobShape* shape = ip->add_shape();
        for (int j = 4 * i; j < 4 * i + 4; ++j) shape->add_dim(net->input_dim(j));
      }
    }
    // Put the Input layer first, ahead of the layers that read its tops.
    *net->add_layer() = std::move(input);
    for (int i = net->layer_size() - 1; i > 0; --i) {
      net->mutable_layer()->SwapElements(i, i - 1);
    }
  }
  // A bare `input` list (legacy caffemodels) carries nothing to keep.
  net->clear_input();
  net->clear_input_shape();
  net->clear_input_dim();
}

bool NetNeedsInputUpgrade(const NetParameter& net) {
  return net.input_size() > 0 || net.input_dim_size() > 0 || net.input_shape_size() > 0;
}

// -------------------------------------------------------------- BatchNorm

// A BatchNorm layer with the 3 param specs of the old definition, not yet
// frozen (so upgraded nets do not count as needing the upgrade again).
bool IsOldBatchNorm(const caffe::LayerParameter& l) {
  if (l.type() != "BatchNorm" || l.param_size() != 3) return false;
  for (const auto& p : l.param()) {
    if (p.lr_mult() != 0.f || p.decay_mult() != 0.f) return true;
  }
  return false;
}

bool NetNeedsBatchNormUpgrade(const NetParameter& net) {
  for (const auto& l : net.layer()) {
    if (IsOldBatchNorm(l)) return true;
  }
  return false;
}

void UpgradeNetBatchNorm(NetParameter* net) {
  for (auto& l : *net->mutable_layer()) {
    if (l.type() != "BatchNorm" || l.param_size() != 3) continue;
    // BatchNorm's statistics are not learned by gradient: freeze them.
    for (auto& p : *l.mutable_param()) {
      p.set_lr_mult(0.f);
      p.set_decay_mult(0.f);
    }
  }
}

}  // namespace

bool NetNeedsUpgrade(const NetParameter& net) {
  return NetNeedsV0ToV1Upgrade(net) || NetNeedsDataUpgrade(net) || net.layers_size() > 0 ||
         NetNeedsInputUpgrade(net) || NetNeedsBatchNormUpgrade(net);
}

bool UpgradeNetAsNeeded(const std::string& source, NetParameter* net) {
  bool upgraded = false;
  if (NetNeedsV0ToV1Upgrade(*net)) {
    LOG(INFO) << "Upgrading V0 layer definitions (deprecated since 2014) in " << source;
    if (!UpgradeV0Net(source, net)) {
      LOG(ERROR) << source << ": some V0 fields could not be upgraded (see above); continuing";
    }
    upgraded = true;
  }
  if (NetNeedsDataUpgrade(*net)) {
    LOG(INFO) << "Moving data-layer transformation fields into transform_param in " << source;
    for (auto& l : *net->mutable_layers()) UpgradeLayerData(&l);
    upgraded = true;
  }
  if (net->layers_size() > 0) {
    LOG(INFO) << "Upgrading V1 'layers' definitions to 'layer' in " << source;
    if (!UpgradeV1Net(source, net)) {
      LOG(ERROR) << source << ": some V1 layers could not be fully upgraded; continuing";
    }
    upgraded = true;
  }
  if (NetNeedsInputUpgrade(*net)) {
    LOG(INFO) << "Replacing deprecated input/input_dim/input_shape fields by an Input layer in "
              << source;
    UpgradeNetInput(source, net);
    upgraded = true;
  }
  if (NetNeedsBatchNormUpgrade(*net)) {
    LOG(INFO) << "Setting lr_mult and decay_mult to 0 on BatchNorm layers with 3 param specs in "
              << source;
    UpgradeNetBatchNorm(net);
    upgraded = true;
  }
  return upgraded;
}

bool SolverNeedsTypeUpgrade(const caffe::SolverParameter& solver) {
  return solver.has_solver_type();
}

bool UpgradeSolverAsNeeded(const std::string& source, caffe::SolverParameter* solver) {
  bool upgraded = false;
  if (SolverNeedsTypeUpgrade(*solver)) {
    REQUIRE(!solver->has_type())
        << source << ": both 'solver_type' (deprecated enum) and 'type' are set; keep only 'type'";
    const char* type = nullptr;
    switch (solver->solver_type()) {
      case caffe::SolverParameter::SGD: type = "SGD"; break;
      case caffe::SolverParameter::NESTEROV: type = "Nesterov"; break;
      case caffe::SolverParameter::ADAGRAD: type = "AdaGrad"; break;
      case caffe::SolverParameter::RMSPROP: type = "RMSProp"; break;
      case caffe::SolverParameter::ADADELTA: type = "AdaDelta"; break;
      case caffe::SolverParameter::ADAM: type = "Adam"; break;
    }
    REQUIRE(type != nullptr) << source << ": unknown solver_type "
                             << static_cast<int>(solver->solver_type());
    LOG(INFO) << "Upgrading deprecated solver_type enum to type: \"" << type << "\" in "
              << source;
    solver->set_type(type);
    solver->clear_solver_type();
    upgraded = true;
  }
  // Nets written inline in the solver get the same upgrades as net files
  // (Caffe leaves them alone, so an old inline net would not build there).
  if (solver->has_net_param()) {
    upgraded |= UpgradeNetAsNeeded(source + " (net_param)", solver->mutable_net_param());
  }
  if (solver->has_train_net_param()) {
    upgraded |=
        UpgradeNetAsNeeded(source + " (train_net_param)", solver->mutable_train_net_param());
  }
  for (int i = 0; i < solver->test_net_param_size(); ++i) {
    upgraded |= UpgradeNetAsNeeded(source + " (test_net_param " + std::to_string(i) + ")",
                                   solver->mutable_test_net_param(i));
  }
  return upgraded;
}

void UpgradeSnapshotPrefixProperty(const std::string& param_file,
                                   caffe::SolverParameter* solver) {
  namespace fs = std::filesystem;
  if (!solver->has_snapshot_prefix()) {
    solver->set_snapshot_prefix(fs::path(param_file).replace_extension().string());
    LOG(INFO) << "snapshot_prefix not set; using " << solver->snapshot_prefix();
    return;
  }
  std::error_code ec;
  if (fs::is_directory(solver->snapshot_prefix(), ec)) {
    solver->set_snapshot_prefix(
        (fs::path(solver->snapshot_prefix()) / fs::path(param_file).stem()).string());
    LOG(INFO) << "snapshot_prefix is a directory; using " << solver->snapshot_prefix();
  }
}

}  // namespace deepspark
