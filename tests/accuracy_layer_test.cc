#include "deepspark/layers/accuracy_layer.hpp"

#include <gtest/gtest.h>

#include "layer_test_helpers.hpp"

namespace deepspark {

template <typename Dtype>
class AccuracyLayerTest : public ::testing::Test {
 protected:
  // 4 samples x 3 classes, hand-written scores.
  AccuracyLayerTest() : scores_(std::vector<int>{4, 3}), labels_(std::vector<int>{4}) {
    const Dtype s[12] = {
        0.1, 0.7, 0.2,  // argmax 1
        0.5, 0.5, 0.0,  // tie between 0 and 1
        0.3, 0.2, 0.5,  // order 2, 0, 1
        0.9, 0.0, 0.1,  // argmax 0
    };
    caffe_copy(12, s, scores_.mutable_cpu_data());
    const Dtype l[4] = {1, 0, 0, 2};
    caffe_copy(4, l, labels_.mutable_cpu_data());
  }
  Dtype Run(const caffe::LayerParameter& p, Blob<Dtype>* per_class = nullptr) {
    std::vector<Blob<Dtype>*> tops{&acc_};
    if (per_class) tops.push_back(per_class);
    AccuracyLayer<Dtype> layer(p);
    layer.SetUp(bottom_vec_, tops);
    layer.Forward(bottom_vec_, tops);
    return acc_.cpu_data()[0];
  }
  Blob<Dtype> scores_, labels_, acc_;
  std::vector<Blob<Dtype>*> bottom_vec_{&scores_, &labels_};
};
TYPED_TEST_SUITE(AccuracyLayerTest, TestDtypes);

TYPED_TEST(AccuracyLayerTest, Top1TiesCountAgainst) {
  // Sample 0 correct; sample 1 is a tie (wrong); samples 2, 3 wrong.
  EXPECT_EQ(this->Run(LayerParam("Accuracy")), TypeParam(0.25));
  EXPECT_EQ(this->acc_.num_axes(), 0);
}

TYPED_TEST(AccuracyLayerTest, Top2) {
  caffe::LayerParameter p = LayerParam("Accuracy");
  p.mutable_accuracy_param()->set_top_k(2);
  // 0: yes; 1: the tie leaves only one other >=, so yes; 2: label 0 second, yes;
  // 3: label 2 second, yes.
  EXPECT_EQ(this->Run(p), TypeParam(1));
  this->scores_.mutable_cpu_data()[3 * 3 + 1] = TypeParam(0.1);  // now a tie with label 2
  EXPECT_EQ(this->Run(p), TypeParam(0.75));
}

TYPED_TEST(AccuracyLayerTest, IgnoreLabelAndPerClass) {
  caffe::LayerParameter p = LayerParam("Accuracy");
  p.mutable_accuracy_param()->set_ignore_label(0);
  Blob<TypeParam> per_class;
  // Samples 1 and 2 ignored: 1 of 2 correct.
  EXPECT_EQ(this->Run(p, &per_class), TypeParam(0.5));
  ASSERT_EQ(per_class.shape(), std::vector<int>{3});
  EXPECT_EQ(per_class.cpu_data()[0], 0);  // no samples
  EXPECT_EQ(per_class.cpu_data()[1], 1);
  EXPECT_EQ(per_class.cpu_data()[2], 0);
}

TYPED_TEST(AccuracyLayerTest, AllIgnoredGivesZero) {
  caffe_set(4, TypeParam(7), this->labels_.mutable_cpu_data());
  caffe::LayerParameter p = LayerParam("Accuracy");
  p.mutable_accuracy_param()->set_ignore_label(7);
  EXPECT_EQ(this->Run(p), 0);
}

TYPED_TEST(AccuracyLayerTest, SpatialAxis) {
  // Scores (1, 3, 2): two positions along the last axis; labels (1, 2).
  this->scores_.Reshape(std::vector<int>{1, 3, 2});
  const TypeParam s[6] = {0.1, 0.8, 0.6, 0.1, 0.3, 0.1};  // argmax: class 1, class 0
  caffe_copy(6, s, this->scores_.mutable_cpu_data());
  this->labels_.Reshape(std::vector<int>{1, 2});
  this->labels_.mutable_cpu_data()[0] = 1;
  this->labels_.mutable_cpu_data()[1] = 2;
  EXPECT_EQ(this->Run(LayerParam("Accuracy")), TypeParam(0.5));
}

TYPED_TEST(AccuracyLayerTest, ErrorsAndNoBackward) {
  caffe::LayerParameter p = LayerParam("Accuracy");
  p.mutable_accuracy_param()->set_top_k(4);
  AccuracyLayer<TypeParam> too_big(p);
  std::vector<Blob<TypeParam>*> tops{&this->acc_};
  EXPECT_THROW(too_big.SetUp(this->bottom_vec_, tops), Error);

  AccuracyLayer<TypeParam> layer(LayerParam("Accuracy"));
  layer.SetUp(this->bottom_vec_, tops);
  EXPECT_EQ(layer.loss(0), 0);
  EXPECT_THROW(layer.Backward(tops, {true, false}, this->bottom_vec_), Error);
  this->labels_.mutable_cpu_data()[0] = 5;
  EXPECT_THROW(layer.Forward(this->bottom_vec_, tops), Error);
  this->labels_.Reshape(std::vector<int>{3});
  EXPECT_THROW(layer.Forward(this->bottom_vec_, tops), Error);
}

}  // namespace deepspark
