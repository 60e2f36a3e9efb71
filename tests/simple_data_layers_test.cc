// Input, DummyData and MemoryData layers.
#include <gtest/gtest.h>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/memory_data_layer.hpp"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class SimpleDataLayersTest : public ::testing::Test {
 protected:
  Blob<Dtype> a_, b_;
  std::vector<Blob<Dtype>*> bottom_, top_{&a_, &b_};
};
TYPED_TEST_SUITE(SimpleDataLayersTest, TestDtypes);

TYPED_TEST(SimpleDataLayersTest, InputShapes) {
  caffe::LayerParameter param;
  param.set_type("Input");
  caffe::BlobShape* s = param.mutable_input_param()->add_shape();
  s->add_dim(2);
  s->add_dim(3);
  auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{2, 3}));
  EXPECT_EQ(this->b_.shape(), (std::vector<int>{2, 3}));
  param.mutable_input_param()->add_shape()->add_dim(5);
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->b_.shape(), (std::vector<int>{5}));
  param.mutable_input_param()->add_shape()->add_dim(5);
  layer = LayerRegistry<TypeParam>::CreateLayer(param);
  EXPECT_THROW(layer->SetUp(this->bottom_, this->top_), Error);
}

TYPED_TEST(SimpleDataLayersTest, DummyDataConstantAndRefill) {
  caffe::LayerParameter param;
  param.set_type("DummyData");
  caffe::DummyDataParameter* d = param.mutable_dummy_data_param();
  d->add_num(2);
  d->add_channels(3);
  d->add_height(1);
  d->add_width(2);
  auto layer = LayerRegistry<TypeParam>::CreateLayer(param);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{2, 3, 1, 2}));
  EXPECT_EQ(this->b_.shape(), (std::vector<int>{2, 3, 1, 2}));
  EXPECT_EQ(this->a_.asum_data(), 0);

  caffe::LayerParameter p2;
  p2.set_type("DummyData");
  d = p2.mutable_dummy_data_param();
  d->add_shape()->add_dim(4);
  d->add_shape()->add_dim(6);
  d->add_data_filler()->set_type("constant");
  d->mutable_data_filler(0)->set_value(3);
  d->add_data_filler()->set_type("uniform");
  layer = LayerRegistry<TypeParam>::CreateLayer(p2);
  layer->SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{4}));
  EXPECT_EQ(this->b_.shape(), (std::vector<int>{6}));
  EXPECT_EQ(this->a_.asum_data(), 12);
  this->a_.mutable_cpu_data()[0] = 100;  // constant tops are not refilled
  std::vector<TypeParam> before(this->b_.cpu_data(), this->b_.cpu_data() + 6);
  layer->Forward(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.cpu_data()[0], 100);
  std::vector<TypeParam> after(this->b_.cpu_data(), this->b_.cpu_data() + 6);
  EXPECT_NE(before, after);
  for (TypeParam v : after) {
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 1);
  }
  d->add_shape()->add_dim(1);  // 3 shapes for 2 tops
  layer = LayerRegistry<TypeParam>::CreateLayer(p2);
  EXPECT_THROW(layer->SetUp(this->bottom_, this->top_), Error);
}

TYPED_TEST(SimpleDataLayersTest, MemoryData) {
  caffe::LayerParameter param;
  param.set_type("MemoryData");
  caffe::MemoryDataParameter* m = param.mutable_memory_data_param();
  m->set_batch_size(2);
  m->set_channels(1);
  m->set_height(1);
  m->set_width(3);
  MemoryDataLayer<TypeParam> layer(param);
  layer.SetUp(this->bottom_, this->top_);
  EXPECT_EQ(this->a_.shape(), (std::vector<int>{2, 1, 1, 3}));
  EXPECT_THROW(layer.Forward(this->bottom_, this->top_), Error);
  std::vector<TypeParam> data(12), labels{0, 1, 2, 3};
  for (int i = 0; i < 12; ++i) data[i] = i;
  EXPECT_THROW(layer.Reset(data.data(), labels.data(), 3), Error);
  layer.Reset(data.data(), labels.data(), 4);
  for (int pass = 0; pass < 3; ++pass) {
    layer.Forward(this->bottom_, this->top_);
    const int first = (pass % 2) * 2;
    EXPECT_EQ(this->b_.cpu_data()[0], first);
    EXPECT_EQ(this->b_.cpu_data()[1], first + 1);
    EXPECT_EQ(this->a_.cpu_data()[5], first * 3 + 5);
  }
  std::vector<caffe::Datum> datums{MakeDatum(0, 1, 1, 3), MakeDatum(1, 1, 1, 3)};
  layer.AddDatumVector(datums);
  layer.Forward(this->bottom_, this->top_);
  EXPECT_EQ(this->b_.cpu_data()[1], 1);
  EXPECT_EQ(this->a_.cpu_data()[4], static_cast<uint8_t>(datums[1].data()[1]));
  datums.push_back(MakeDatum(2, 1, 1, 3));
  EXPECT_THROW(layer.AddDatumVector(datums), Error);
}

}  // namespace deepspark
