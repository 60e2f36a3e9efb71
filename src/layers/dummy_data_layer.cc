#include "deepspark/layers/dummy_data_layer.hpp"

#include "deepspark/layer_factory.hpp"

namespace deepspark {

template <typename Dtype>
void DummyDataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                       const std::vector<Blob<Dtype>*>& top) {
  const caffe::DummyDataParameter& param = this->layer_param_.dummy_data_param();
  const int num_top = top.size();
  const int num_fillers = param.data_filler_size();
  REQUIRE(num_fillers == 0 || num_fillers == 1 || num_fillers == num_top)
      << "dummy_data_param: " << num_fillers << " data_fillers for " << num_top
      << " tops; give 0, 1 or one per top";
  const int legacy = param.num_size();
  REQUIRE(!(legacy > 0 && param.shape_size() > 0))
      << "dummy_data_param: give either shape or num/channels/height/width, not both";
  if (legacy > 0) {
    REQUIRE((legacy == 1 || legacy == num_top) && param.channels_size() == legacy &&
            param.height_size() == legacy && param.width_size() == legacy)
        << "dummy_data_param: num, channels, height and width must each be given once or once "
           "per top";
  } else {
    REQUIRE(param.shape_size() == 1 || param.shape_size() == num_top)
        << "dummy_data_param: " << param.shape_size() << " shapes for " << num_top
        << " tops; give one shape for all tops or one per top";
  }
  fillers_.clear();
  refill_.clear();
  for (int i = 0; i < num_top; ++i) {
    caffe::FillerParameter filler_param;
    if (num_fillers == 0) {
      filler_param.set_type("constant");
      filler_param.set_value(0);
    } else {
      filler_param = param.data_filler(num_fillers == 1 ? 0 : i);
    }
    refill_.push_back(filler_param.type() != "constant");
    fillers_.push_back(GetFiller<Dtype>(filler_param));
    if (legacy > 0) {
      const int j = legacy == 1 ? 0 : i;
      top[i]->Reshape(param.num(j), param.channels(j), param.height(j), param.width(j));
    } else {
      top[i]->Reshape(param.shape(param.shape_size() == 1 ? 0 : i));
    }
    fillers_[i]->Fill(top[i]);
  }
}

template <typename Dtype>
void DummyDataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                        const std::vector<Blob<Dtype>*>& top) {
  for (size_t i = 0; i < top.size(); ++i) {
    if (refill_[i]) fillers_[i]->Fill(top[i]);
  }
}

INSTANTIATE_CLASS(DummyDataLayer);
REGISTER_LAYER_CLASS(DummyData);

}  // namespace deepspark
