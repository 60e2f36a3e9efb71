// V0 -> V1 net upgrade (see upgrade_v0.hpp). V0 nets (before March 2014)
// nest a flat V0LayerParameter holding every layer type's fields; each field
// moves into the typed *_param message its layer type uses.
#include "upgrade_v0.hpp"

#include <map>
#include <string>

#include "deepspark/common.hpp"

namespace deepspark {
namespace {

using caffe::NetParameter;
using caffe::V0LayerParameter;
using caffe::V1LayerParameter;

V1LayerParameter::LayerType V0TypeToV1(const std::string& source, const std::string& type) {
  static const std::map<std::string, V1LayerParameter::LayerType> kMap = {
      {"accuracy", V1LayerParameter::ACCURACY},
      {"bnll", V1LayerParameter::BNLL},
      {"concat", V1LayerParameter::CONCAT},
      {"conv", V1LayerParameter::CONVOLUTION},
      {"data", V1LayerParameter::DATA},
      {"dropout", V1LayerParameter::DROPOUT},
      {"euclidean_loss", V1LayerParameter::EUCLIDEAN_LOSS},
      {"flatten", V1LayerParameter::FLATTEN},
      {"hdf5_data", V1LayerParameter::HDF5_DATA},
      {"hdf5_output", V1LayerParameter::HDF5_OUTPUT},
      {"im2col", V1LayerParameter::IM2COL},
      {"images", V1LayerParameter::IMAGE_DATA},
      {"infogain_loss", V1LayerParameter::INFOGAIN_LOSS},
      {"innerproduct", V1LayerParameter::INNER_PRODUCT},
      {"lrn", V1LayerParameter::LRN},
      {"multinomial_logistic_loss", V1LayerParameter::MULTINOMIAL_LOGISTIC_LOSS},
      {"pool", V1LayerParameter::POOLING},
      {"relu", V1LayerParameter::RELU},
      {"sigmoid", V1LayerParameter::SIGMOID},
      {"softmax", V1LayerParameter::SOFTMAX},
      {"softmax_loss", V1LayerParameter::SOFTMAX_LOSS},
      {"split", V1LayerParameter::SPLIT},
      {"tanh", V1LayerParameter::TANH},
      {"window_data", V1LayerParameter::WINDOW_DATA},
  };
  auto it = kMap.find(type);
  if (it == kMap.end()) THROW_ERROR() << source << ": unknown V0 layer type \"" << type << "\"";
  return it->second;
}

// Removes V0 "padding" layers; their pad goes into the conv/pool layer that
// consumes their output, which then reads the padding layer's input instead.
NetParameter FoldV0PaddingLayers(const std::string& source, const NetParameter& in) {
  NetParameter out(in);
  out.clear_layers();
  // Which input layer last produced each blob; -1 for net inputs.
  std::map<std::string, int> producer;
  for (const auto& name : in.input()) producer[name] = -1;
  for (int i = 0; i < in.layers_size(); ++i) {
    const V1LayerParameter& conn = in.layers(i);
    const V0LayerParameter& v0 = conn.layer();
    if (v0.type() != "padding") *out.add_layers() = conn;
    for (int j = 0; j < conn.bottom_size(); ++j) {
      auto it = producer.find(conn.bottom(j));
      if (it == producer.end()) {
        THROW_ERROR() << source << ": layer \"" << v0.name() << "\" reads unknown blob \""
                      << conn.bottom(j) << "\"";
      }
      if (it->second < 0) continue;
      const V1LayerParameter& src = in.layers(it->second);
      if (src.layer().type() != "padding") continue;
      REQUIRE(v0.type() == "conv" || v0.type() == "pool")
          << source << ": padding layer \"" << src.layer().name()
          << "\" feeds layer \"" << v0.name() << "\" of type \"" << v0.type()
          << "\"; only conv and pool layers can absorb padding";
      REQUIRE(conn.bottom_size() == 1 && src.bottom_size() == 1 && src.top_size() == 1)
          << source << ": padding layer \"" << src.layer().name()
          << "\" and its consumer must each have exactly one input and output";
      V1LayerParameter* last = out.mutable_layers(out.layers_size() - 1);
      last->mutable_layer()->set_pad(src.layer().pad());
      last->set_bottom(j, src.bottom(0));
    }
    for (const auto& top : conn.top()) producer[top] = i;
  }
  return out;
}

// Logs a V0 field that the layer's type does not use (Caffe drops it too).
void DropV0Field(const std::string& source, const V0LayerParameter& v0, const char* field,
                 bool* compatible) {
  LOG(ERROR) << source << ": V0 layer \"" << v0.name() << "\" of type \"" << v0.type()
             << "\" has field " << field << ", which that type does not use; dropped";
  *compatible = false;
}

bool UpgradeV0Layer(const std::string& source, const V1LayerParameter& conn,
                    V1LayerParameter* out) {
  bool ok = true;
  out->Clear();
  *out->mutable_bottom() = conn.bottom();
  *out->mutable_top() = conn.top();
  if (!conn.has_layer()) return ok;
  const V0LayerParameter& v0 = conn.layer();
  const std::string& t = v0.type();
  const bool conv = t == "conv", ip = t == "innerproduct", pool = t == "pool";
  const bool data = t == "data", hdf5 = t == "hdf5_data", images = t == "images";
  const bool window = t == "window_data";
  if (v0.has_name()) out->set_name(v0.name());
  if (v0.has_type()) out->set_type(V0TypeToV1(source, t));
  *out->mutable_blobs() = v0.blobs();
  *out->mutable_blobs_lr() = v0.blobs_lr();
  *out->mutable_weight_decay() = v0.weight_decay();

  if (v0.has_num_output()) {
    if (conv) out->mutable_convolution_param()->set_num_output(v0.num_output());
    else if (ip) out->mutable_inner_product_param()->set_num_output(v0.num_output());
    else DropV0Field(source, v0, "num_output", &ok);
  }
  if (v0.has_biasterm()) {
    if (conv) out->mutable_convolution_param()->set_bias_term(v0.biasterm());
    else if (ip) out->mutable_inner_product_param()->set_bias_term(v0.biasterm());
    else DropV0Field(source, v0, "biasterm", &ok);
  }
  if (v0.has_weight_filler()) {
    if (conv) *out->mutable_convolution_param()->mutable_weight_filler() = v0.weight_filler();
    else if (ip) *out->mutable_inner_product_param()->mutable_weight_filler() = v0.weight_filler();
    else DropV0Field(source, v0, "weight_filler", &ok);
  }
  if (v0.has_bias_filler()) {
    if (conv) *out->mutable_convolution_param()->mutable_bias_filler() = v0.bias_filler();
    else if (ip) *out->mutable_inner_product_param()->mutable_bias_filler() = v0.bias_filler();
    else DropV0Field(source, v0, "bias_filler", &ok);
  }
  if (v0.has_pad()) {
    if (conv) out->mutable_convolution_param()->add_pad(v0.pad());
    else if (pool) out->mutable_pooling_param()->set_pad(v0.pad());
    else DropV0Field(source, v0, "pad", &ok);
  }
  if (v0.has_kernelsize()) {
    if (conv) out->mutable_convolution_param()->add_kernel_size(v0.kernelsize());
    else if (pool) out->mutable_pooling_param()->set_kernel_size(v0.kernelsize());
    else DropV0Field(source, v0, "kernelsize", &ok);
  }
  if (v0.has_group()) {
    if (conv) out->mutable_convolution_param()->set_group(v0.group());
    else DropV0Field(source, v0, "group", &ok);
  }
  if (v0.has_stride()) {
    if (conv) out->mutable_convolution_param()->add_stride(v0.stride());
    else if (pool) out->mutable_pooling_param()->set_stride(v0.stride());
    else DropV0Field(source, v0, "stride", &ok);
  }
  if (v0.has_pool()) {
    // The two enums have the same names and numbers (MAX, AVE, STOCHASTIC).
    if (pool) {
      out->mutable_pooling_param()->set_pool(
          static_cast<caffe::PoolingParameter::PoolMethod>(v0.pool()));
    } else {
      DropV0Field(source, v0, "pool", &ok);
    }
  }
  if (v0.has_dropout_ratio()) {
    if (t == "dropout") out->mutable_dropout_param()->set_dropout_ratio(v0.dropout_ratio());
    else DropV0Field(source, v0, "dropout_ratio", &ok);
  }
  const bool lrn = t == "lrn";
  if (v0.has_local_size()) {
    if (lrn) out->mutable_lrn_param()->set_local_size(v0.local_size());
    else DropV0Field(source, v0, "local_size", &ok);
  }
  if (v0.has_alpha()) {
    if (lrn) out->mutable_lrn_param()->set_alpha(v0.alpha());
    else DropV0Field(source, v0, "alpha", &ok);
  }
  if (v0.has_beta()) {
    if (lrn) out->mutable_lrn_param()->set_beta(v0.beta());
    else DropV0Field(source, v0, "beta", &ok);
  }
  if (v0.has_k()) {
    if (lrn) out->mutable_lrn_param()->set_k(v0.k());
    else DropV0Field(source, v0, "k", &ok);
  }
  if (v0.has_source()) {
    if (data) out->mutable_data_param()->set_source(v0.source());
    else if (hdf5) out->mutable_hdf5_data_param()->set_source(v0.source());
    else if (images) out->mutable_image_data_param()->set_source(v0.source());
    else if (window) out->mutable_window_data_param()->set_source(v0.source());
    else if (t == "infogain_loss") out->mutable_infogain_loss_param()->set_source(v0.source());
    else DropV0Field(source, v0, "source", &ok);
  }
  // The transformation fields go to transform_param whatever the type.
  if (v0.has_scale()) out->mutable_transform_param()->set_scale(v0.scale());
  if (v0.has_meanfile()) out->mutable_transform_param()->set_mean_file(v0.meanfile());
  if (v0.has_cropsize()) out->mutable_transform_param()->set_crop_size(v0.cropsize());
  if (v0.has_mirror()) out->mutable_transform_param()->set_mirror(v0.mirror());
  if (v0.has_batchsize()) {
    if (data) out->mutable_data_param()->set_batch_size(v0.batchsize());
    else if (hdf5) out->mutable_hdf5_data_param()->set_batch_size(v0.batchsize());
    else if (images) out->mutable_image_data_param()->set_batch_size(v0.batchsize());
    else if (window) out->mutable_window_data_param()->set_batch_size(v0.batchsize());
    else DropV0Field(source, v0, "batchsize", &ok);
  }
  if (v0.has_rand_skip()) {
    if (data) out->mutable_data_param()->set_rand_skip(v0.rand_skip());
    else if (images) out->mutable_image_data_param()->set_rand_skip(v0.rand_skip());
    else DropV0Field(source, v0, "rand_skip", &ok);
  }
  if (v0.has_shuffle_images()) {
    if (images) out->mutable_image_data_param()->set_shuffle(v0.shuffle_images());
    else DropV0Field(source, v0, "shuffle_images", &ok);
  }
  if (v0.has_new_height()) {
    if (images) out->mutable_image_data_param()->set_new_height(v0.new_height());
    else DropV0Field(source, v0, "new_height", &ok);
  }
  if (v0.has_new_width()) {
    if (images) out->mutable_image_data_param()->set_new_width(v0.new_width());
    else DropV0Field(source, v0, "new_width", &ok);
  }
  if (v0.has_new_num()) DropV0Field(source, v0, "new_num", &ok);
  if (v0.has_new_channels()) DropV0Field(source, v0, "new_channels", &ok);
  if (v0.has_concat_dim()) {
    if (t == "concat") out->mutable_concat_param()->set_concat_dim(v0.concat_dim());
    else DropV0Field(source, v0, "concat_dim", &ok);
  }
  if (v0.has_det_fg_threshold()) {
    if (window) out->mutable_window_data_param()->set_fg_threshold(v0.det_fg_threshold());
    else DropV0Field(source, v0, "det_fg_threshold", &ok);
  }
  if (v0.has_det_bg_threshold()) {
    if (window) out->mutable_window_data_param()->set_bg_threshold(v0.det_bg_threshold());
    else DropV0Field(source, v0, "det_bg_threshold", &ok);
  }
  if (v0.has_det_fg_fraction()) {
    if (window) out->mutable_window_data_param()->set_fg_fraction(v0.det_fg_fraction());
    else DropV0Field(source, v0, "det_fg_fraction", &ok);
  }
  if (v0.has_det_context_pad()) {
    if (window) out->mutable_window_data_param()->set_context_pad(v0.det_context_pad());
    else DropV0Field(source, v0, "det_context_pad", &ok);
  }
  if (v0.has_det_crop_mode()) {
    if (window) out->mutable_window_data_param()->set_crop_mode(v0.det_crop_mode());
    else DropV0Field(source, v0, "det_crop_mode", &ok);
  }
  if (v0.has_hdf5_output_param()) {
    if (t == "hdf5_output") *out->mutable_hdf5_output_param() = v0.hdf5_output_param();
    else DropV0Field(source, v0, "hdf5_output_param", &ok);
  }
  return ok;
}

}  // namespace

bool NetNeedsV0ToV1Upgrade(const NetParameter& net) {
  for (const auto& l : net.layers()) {
    if (l.has_layer()) return true;
  }
  return false;
}

bool UpgradeV0Net(const std::string& source, NetParameter* net) {
  NetParameter folded = FoldV0PaddingLayers(source, *net);
  bool ok = true;
  net->clear_layers();
  for (const auto& conn : folded.layers()) {
    ok &= UpgradeV0Layer(source, conn, net->add_layers());
  }
  return ok;
}

}  // namespace deepspark
