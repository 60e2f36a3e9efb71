#include "deepspark/blob.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "deepspark/filler.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "test_util.hpp"

namespace deepspark {

template <typename Dtype>
class BlobTest : public ::testing::Test {};
TYPED_TEST_SUITE(BlobTest, TestDtypes);

TYPED_TEST(BlobTest, ReshapeAndCount) {
  Blob<TypeParam> blob(2, 3, 4, 5);
  EXPECT_EQ(blob.count(), 120);
  EXPECT_EQ(blob.count(1), 60);
  EXPECT_EQ(blob.shape(-1), 5);
  EXPECT_EQ(blob.offset(1, 2, 3, 4), 119);
  blob.Reshape(std::vector<int>{7});
  EXPECT_EQ(blob.num_axes(), 1);
  EXPECT_EQ(blob.num(), 7);
  EXPECT_EQ(blob.channels(), 1);
}

TYPED_TEST(BlobTest, NegativeDimensionIsAnError) {
  Blob<TypeParam> blob;
  EXPECT_THROW(blob.Reshape(std::vector<int>{2, -1}), Error);
}

TYPED_TEST(BlobTest, ProtoRoundTripAndLegacyShape) {
  Blob<TypeParam> blob(std::vector<int>{3, 4});
  for (int i = 0; i < blob.count(); ++i) blob.mutable_cpu_data()[i] = i * 0.5;
  caffe::BlobProto proto;
  blob.ToProto(&proto);
  Blob<TypeParam> copy;
  copy.FromProto(proto);
  ASSERT_EQ(copy.shape(), blob.shape());
  for (int i = 0; i < blob.count(); ++i) EXPECT_EQ(copy.cpu_data()[i], blob.cpu_data()[i]);
  // Legacy 1x1x3x4 dims match a 3x4 blob right-aligned.
  caffe::BlobProto legacy;
  legacy.set_num(1);
  legacy.set_channels(1);
  legacy.set_height(3);
  legacy.set_width(4);
  for (int i = 0; i < 12; ++i) legacy.add_data(i);
  EXPECT_TRUE(blob.ShapeEquals(legacy));
  blob.FromProto(legacy, /*reshape=*/false);
  EXPECT_EQ(blob.cpu_data()[11], 11);
  legacy.set_height(4);
  legacy.set_width(3);
  EXPECT_THROW(blob.FromProto(legacy, false), Error);
}

TYPED_TEST(BlobTest, XavierFillerRange) {
  Blob<TypeParam> blob(std::vector<int>{50, 20});
  caffe::FillerParameter param;
  param.set_type("xavier");
  GetFiller<TypeParam>(param)->Fill(&blob);
  TypeParam limit = std::sqrt(TypeParam(3) / 20);
  for (int i = 0; i < blob.count(); ++i) {
    EXPECT_LE(std::fabs(blob.cpu_data()[i]), limit);
  }
  param.set_type("nonsense");
  EXPECT_THROW(GetFiller<TypeParam>(param), Error);
}

}  // namespace deepspark
