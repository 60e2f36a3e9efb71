#include "deepspark/net_stats.hpp"

#include <algorithm>
#include <set>

namespace deepspark {
namespace {

// Layers whose forward pass only moves, views or looks up data.
bool MovesDataOnly(const std::string& type) {
  static const std::set<std::string> kTypes = {
      "Data",  "Input",   "DummyData",    "MemoryData", "ImageData", "HDF5Data", "WindowData",
      "Split", "Reshape", "Flatten",      "Concat",     "Slice",     "Silence",  "Crop",
      "Tile",  "Filter",  "BatchReindex", "Parameter",  "Embed",     "Im2col"};
  return kTypes.count(type) > 0;
}

double ForwardFlops(Layer<float>& layer, const std::vector<Blob<float>*>& bottom,
                    const std::vector<Blob<float>*>& top, std::string* rule) {
  const std::string type = layer.type();
  const bool weighted = type == "Convolution" || type == "Deconvolution" || type == "InnerProduct";
  if (weighted && !layer.blobs().empty() && !top.empty() && !bottom.empty()) {
    *rule = "2 x multiply-adds";
    // Each output element of a convolution (each input element of a
    // deconvolution) meets weights.count / channels weights.
    const Blob<float>* out = type == "Deconvolution" ? bottom[0] : top[0];
    const int axis = type == "InnerProduct" ? layer.layer_param().inner_product_param().axis()
                                            : layer.layer_param().convolution_param().axis();
    const Blob<float>& w = *layer.blobs()[0];
    const int channels = out->shape(axis);
    if (channels == 0) return 0;
    return 2.0 * static_cast<double>(top.size()) * out->count() *
           (static_cast<double>(w.count()) / channels);
  }
  if (MovesDataOnly(type)) {
    *rule = "none (moves data)";
    return 0;
  }
  if (type == "Pooling" && !top.empty() && !bottom.empty()) {
    *rule = "1 per window element";
    const caffe::PoolingParameter& p = layer.layer_param().pooling_param();
    double area;
    if (p.global_pooling()) {
      area = bottom[0]->num_axes() > 2 ? bottom[0]->count(2) : 1;
    } else {
      const double kh = p.has_kernel_h() ? p.kernel_h() : p.kernel_size();
      const double kw = p.has_kernel_w() ? p.kernel_w() : p.kernel_size();
      area = kh * kw;
    }
    return area * top[0]->count();
  }
  if (type == "Eltwise" && !top.empty()) {
    *rule = "1 per input element after the first";
    return static_cast<double>(bottom.size() > 0 ? bottom.size() - 1 : 0) * top[0]->count();
  }
  *rule = "1 per element";
  double outputs = 0;
  for (const Blob<float>* blob : top) outputs += blob->count();
  return std::max(outputs, bottom.empty() ? 0.0 : static_cast<double>(bottom[0]->count()));
}

// The memory a blob's data lives in: blobs sharing data share this.
const void* DataKey(const Blob<float>* blob) {
  return blob->data() ? static_cast<const void*>(blob->data().get())
                      : static_cast<const void*>(blob);
}

}  // namespace

NetStats ComputeNetStats(const Net<float>& net) {
  NetStats stats;
  stats.name = net.name();
  const auto& layers = net.layers();
  std::set<const void*> seen_params;
  for (size_t i = 0; i < layers.size(); ++i) {
    Layer<float>& layer = *layers[i];
    const std::vector<Blob<float>*>& bottom = net.bottom_vecs()[i];
    const std::vector<Blob<float>*>& top = net.top_vecs()[i];
    LayerStats s;
    s.name = layer.layer_param().name();
    s.type = layer.type();
    std::set<const void*> bottom_data;
    for (const Blob<float>* b : bottom) bottom_data.insert(DataKey(b));
    for (const Blob<float>* t : top) {
      s.top_shapes.push_back(t->shape());
      const bool shares = bottom_data.count(DataKey(t)) > 0;
      s.top_shares_bottom.push_back(shares);
      if (!shares) s.top_bytes += static_cast<int64_t>(t->count()) * sizeof(float);
    }
    for (const auto& blob : layer.blobs()) {
      if (seen_params.insert(DataKey(blob.get())).second) {
        s.params += blob->count();
        s.param_bytes += static_cast<int64_t>(blob->count()) * sizeof(float);
      } else {
        s.shared_params += blob->count();
      }
    }
    s.forward_flops = ForwardFlops(layer, bottom, top, &s.flop_rule);
    stats.params += s.params;
    stats.param_bytes += s.param_bytes;
    stats.forward_flops += s.forward_flops;
    if (stats.batch == 0 && !top.empty() && top[0]->num_axes() > 0) {
      stats.batch = top[0]->shape(0);
    }
    stats.layers.push_back(std::move(s));
  }
  for (const Blob<float>* blob : net.learnable_params()) stats.learnable_params += blob->count();
  std::set<const void*> seen_tops;
  for (const auto& blob : net.blobs()) {
    if (seen_tops.insert(DataKey(blob.get())).second) {
      stats.top_bytes += static_cast<int64_t>(blob->count()) * sizeof(float);
    }
  }
  return stats;
}

}  // namespace deepspark
