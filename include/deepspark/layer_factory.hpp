// The layer registry: prototxt type string -> creator, one registry per
// element type. A layer's .cc registers itself with REGISTER_LAYER_CLASS.
// Registering a type twice is a programming error (abort); creating an
// unknown type throws deepspark::Error listing the known types.
//
// Thread safety: registration happens during static initialisation; lookups
// afterwards are read-only and safe from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class LayerRegistry {
 public:
  using Creator = std::function<std::shared_ptr<Layer<Dtype>>(const caffe::LayerParameter&)>;

  static void AddCreator(const std::string& type, Creator creator);
  static std::shared_ptr<Layer<Dtype>> CreateLayer(const caffe::LayerParameter& param);
  static std::vector<std::string> LayerTypeList();
  static bool Has(const std::string& type);

 private:
  static std::map<std::string, Creator>& Registry();
};

template <typename Dtype>
class LayerRegisterer {
 public:
  LayerRegisterer(const std::string& type, typename LayerRegistry<Dtype>::Creator creator) {
    LayerRegistry<Dtype>::AddCreator(type, std::move(creator));
  }
};

#define REGISTER_LAYER_CREATOR(type, creator)                                          \
  static ::deepspark::LayerRegisterer<float> g_creator_f_##type(#type, creator<float>); \
  static ::deepspark::LayerRegisterer<double> g_creator_d_##type(#type, creator<double>)

#define REGISTER_LAYER_CLASS(type)                                                   \
  template <typename Dtype>                                                          \
  std::shared_ptr<::deepspark::Layer<Dtype>> Creator_##type##Layer(                  \
      const caffe::LayerParameter& param) {                                          \
    return std::make_shared<type##Layer<Dtype>>(param);                              \
  }                                                                                  \
  REGISTER_LAYER_CREATOR(type, Creator_##type##Layer)

}  // namespace deepspark
