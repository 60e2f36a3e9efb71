#include "deepspark/deploy_net.hpp"

#include <set>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/net.hpp"

namespace deepspark {

caffe::NetParameter MakeDeployNet(const caffe::NetParameter& train_test,
                                  const std::vector<int>& input_shape,
                                  caffe::TransformationParameter* transform) {
  caffe::NetParameter test_phase = train_test;
  test_phase.mutable_state()->set_phase(caffe::TEST);
  caffe::NetParameter filtered;
  Net<float>::FilterNet(test_phase, &filtered);

  std::vector<int> data_layers;  // layers without bottoms
  std::string names;
  for (int i = 0; i < filtered.layer_size(); ++i) {
    const caffe::LayerParameter& layer = filtered.layer(i);
    if (layer.bottom_size() > 0 || layer.top_size() == 0) continue;
    data_layers.push_back(i);
    names += (names.empty() ? "'" : ", '") + layer.name() + "' (" + layer.type() + ")";
  }
  REQUIRE(data_layers.size() == 1) << "net '" << train_test.name() << "': a deploy net needs one "
                                   << "data layer (a layer without bottoms) in the TEST phase; "
                                   << "found " << (names.empty() ? std::string("none") : names);
  const int data_layer = data_layers[0];
  const caffe::LayerParameter& data = filtered.layer(data_layer);
  if (transform) *transform = data.transform_param();

  caffe::NetParameter deploy;
  deploy.set_name(filtered.name());
  caffe::LayerParameter* input = deploy.add_layer();
  input->set_name(data.name());
  input->set_type("Input");
  input->add_top(data.top(0));
  caffe::BlobShape* shape = input->mutable_input_param()->add_shape();
  for (int d : input_shape) shape->add_dim(d);

  std::set<std::string> dropped(data.top().begin() + 1, data.top().end());
  for (int i = 0; i < filtered.layer_size(); ++i) {
    if (i == data_layer) continue;
    const caffe::LayerParameter& layer = filtered.layer(i);
    bool needs_dropped = false;
    for (const std::string& bottom : layer.bottom()) needs_dropped |= dropped.count(bottom) > 0;
    if (needs_dropped) {
      // In-place layers write their bottom: dropping its tops drops it too.
      for (const std::string& top : layer.top()) dropped.insert(top);
      continue;
    }
    caffe::LayerParameter* kept = deploy.add_layer();
    *kept = layer;
    kept->clear_include();
    kept->clear_exclude();
  }
  return deploy;
}

}  // namespace deepspark
