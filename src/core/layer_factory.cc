#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
std::map<std::string, typename LayerRegistry<Dtype>::Creator>& LayerRegistry<Dtype>::Registry() {
  static auto* registry = new std::map<std::string, Creator>();
  return *registry;
}

template <typename Dtype>
void LayerRegistry<Dtype>::AddCreator(const std::string& type, Creator creator) {
  auto& registry = Registry();
  CHECK_EQ(registry.count(type), 0u) << "layer type " << type << " already registered";
  registry[type] = std::move(creator);
}

template <typename Dtype>
bool LayerRegistry<Dtype>::Has(const std::string& type) {
  return Registry().count(type) > 0;
}

template <typename Dtype>
std::vector<std::string> LayerRegistry<Dtype>::LayerTypeList() {
  std::vector<std::string> types;
  for (const auto& entry : Registry()) types.push_back(entry.first);
  return types;
}

template <typename Dtype>
std::shared_ptr<Layer<Dtype>> LayerRegistry<Dtype>::CreateLayer(
    const caffe::LayerParameter& param) {
  const std::string& type = param.type();
  auto& registry = Registry();
  auto it = registry.find(type);
  if (it == registry.end() && type == "Python") {
    // Registered by the Python package's extension (python/src), where an
    // interpreter runs; this process has none.
    THROW_ERROR() << "layer \"" << param.name()
                  << "\": type \"Python\" runs Python code, which needs Python: build the net "
                     "from Python (deepspark.Net, deepspark.SGDSolver, ...) or run the command "
                     "as `python3 -m deepspark ...` (in float; not in distributed workers)";
  }
  if (it == registry.end()) {
    std::string known;
    for (const auto& entry : registry) {
      if (!known.empty()) known += ", ";
      known += entry.first;
    }
    THROW_ERROR() << "layer \"" << param.name() << "\": unknown layer type \"" << type
                  << "\" (known types: " << known << ")";
  }
  return it->second(param);
}

template class LayerRegistry<float>;
template class LayerRegistry<double>;

}  // namespace deepspark
