#include "deepspark/layers/data_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data_test_util.hpp"
#include "deepspark/common.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/rng.hpp"
#include "test_util.hpp"

namespace deepspark {

// Restores the process-wide settings the tests change.
class DataSettingsGuard {
 public:
  DataSettingsGuard() : seed_(RandomSeed()) {}
  ~DataSettingsGuard() { SetRandomSeed(seed_); }

 private:
  int64_t seed_;
};

template <typename Dtype>
class DataLayerTest : public ::testing::Test {
 protected:
  static constexpr int kItems = 10;
  DataLayerTest() {
    MakeDatumDB(dir_ / "lmdb", "lmdb", kItems, 2, 3, 4);
    MakeDatumDB(dir_ / "leveldb", "leveldb", kItems, 2, 3, 4);
    MakeDatumDB(dir_ / "records", "records", kItems, 2, 3, 4);
  }
  caffe::LayerParameter Param(const std::string& backend, int batch_size) {
    caffe::LayerParameter param;
    param.set_name("data");
    param.set_type("Data");
    param.set_phase(caffe::TRAIN);
    caffe::DataParameter* d = param.mutable_data_param();
    d->set_source(dir_ / backend);
    d->set_backend(db::BackendOf(d->source()));
    d->set_batch_size(batch_size);
    return param;
  }
  // Runs `batches` forwards; returns the labels and the data of each batch.
  std::vector<std::vector<Dtype>> Labels(Layer<Dtype>* layer, int batches,
                                         std::vector<std::vector<Dtype>>* data = nullptr) {
    std::vector<std::vector<Dtype>> labels;
    for (int b = 0; b < batches; ++b) {
      layer->Forward(bottom_, top_);
      labels.emplace_back(label_.cpu_data(), label_.cpu_data() + label_.count());
      if (data) data->emplace_back(data_.cpu_data(), data_.cpu_data() + data_.count());
    }
    return labels;
  }

  TempDir dir_;
  Blob<Dtype> data_, label_;
  std::vector<Blob<Dtype>*> bottom_, top_{&data_, &label_};
  DataSettingsGuard guard_;
};
TYPED_TEST_SUITE(DataLayerTest, TestDtypes);

TYPED_TEST(DataLayerTest, ReadsEveryBackendAndWraps) {
  for (const std::string backend : {"lmdb", "leveldb", "records"}) {
    auto layer = LayerRegistry<TypeParam>::CreateLayer(this->Param(backend, 4));
    layer->SetUp(this->bottom_, this->top_);
    EXPECT_EQ(this->data_.shape(), (std::vector<int>{4, 2, 3, 4}));
    EXPECT_EQ(this->label_.shape(), (std::vector<int>{4}));
    std::vector<std::vector<TypeParam>> data;
    auto labels = this->Labels(layer.get(), 3, &data);
    EXPECT_EQ(labels[0], (std::vector<TypeParam>{0, 1, 2, 3}));
    EXPECT_EQ(labels[1], (std::vector<TypeParam>{4, 5, 6, 7}));
    EXPECT_EQ(labels[2], (std::vector<TypeParam>{8, 9, 0, 1}));
    caffe::Datum d5 = MakeDatum(5, 2, 3, 4);
    for (int j = 0; j < 24; ++j) {
      EXPECT_EQ(data[1][24 + j], TypeParam(static_cast<uint8_t>(d5.data()[j])));
    }
  }
}

TYPED_TEST(DataLayerTest, TestPhaseTransformAndNoLabels) {
  caffe::LayerParameter param = this->Param("lmdb", 2);
  param.set_phase(caffe::TEST);
  param.mutable_transform_param()->set_crop_size(2);
  param.mutable_transform_param()->set_scale(0.5);
  param.mutable_data_param()->set_rand_skip(3);
  DataLayer<TypeParam> layer(param);
  std::vector<Blob<TypeParam>*> top{&this->data_};
  layer.SetUp(this->bottom_, top);
  EXPECT_EQ(this->data_.shape(), (std::vector<int>{2, 2, 2, 2}));
  layer.Forward(this->bottom_, top);
  // Item 3 (rand_skip), centre crop at (0, 1) of the 3 x 4 image.
  caffe::Datum d3 = MakeDatum(3, 2, 3, 4);
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w) {
        EXPECT_EQ(this->data_.data_at(0, c, h, w),
                  TypeParam(static_cast<uint8_t>(d3.data()[(c * 3 + h) * 4 + w + 1])) / 2);
      }
}

TYPED_TEST(DataLayerTest, SeekDataContinuesExactly) {
  SetRandomSeed(77);
  caffe::LayerParameter param = this->Param("lmdb", 3);
  param.mutable_transform_param()->set_crop_size(2);
  param.mutable_transform_param()->set_mirror(true);
  param.mutable_data_param()->set_rand_skip(1);
  param.mutable_data_param()->set_prefetch(2);
  std::vector<std::vector<TypeParam>> data_a, data_b, data_c;
  std::vector<std::vector<TypeParam>> labels_a, labels_b, labels_c;
  {
    DataLayer<TypeParam> a(param);
    a.SetUp(this->bottom_, this->top_);
    labels_a = this->Labels(&a, 7, &data_a);
  }
  {
    DataLayer<TypeParam> b(param);
    b.SetUp(this->bottom_, this->top_);
    this->Labels(&b, 2);
    b.SeekData(4);
    labels_b = this->Labels(&b, 3, &data_b);
  }
  {
    // Seek before the first forward, as a resumed solver does.
    DataLayer<TypeParam> c(param);
    c.SetUp(this->bottom_, this->top_);
    c.SeekData(5);
    labels_c = this->Labels(&c, 1, &data_c);
  }
  EXPECT_EQ(labels_a[4], (std::vector<TypeParam>{3, 4, 5}));  // 1 + 4*3 = 13 -> 3
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(labels_b[i], labels_a[4 + i]);
    EXPECT_EQ(data_b[i], data_a[4 + i]);
  }
  EXPECT_EQ(data_c[0], data_a[5]);
}

TYPED_TEST(DataLayerTest, PartitionsAreDisjointAndCovering) {
  for (bool shuffle : {false, true}) {
    std::multiset<int> all;
    std::vector<std::vector<int>> epochs(2);
    for (int rank = 0; rank < 2; ++rank) {
      caffe::LayerParameter param = this->Param("leveldb", 5);
      caffe::DataPartitionParameter* partition = param.mutable_data_param()->mutable_partition();
      partition->set_rank(rank);
      partition->set_num_ranks(2);
      partition->set_shuffle(shuffle);
      partition->set_shuffle_seed(5);
      DataLayer<TypeParam> layer(param);
      layer.SetUp(this->bottom_, this->top_);
      EXPECT_EQ(layer.partition_size(), 5u);
      auto labels = this->Labels(&layer, 2);
      for (int e = 0; e < 2; ++e) {
        std::set<int> epoch;
        for (TypeParam l : labels[e]) {
          EXPECT_EQ(static_cast<int>(l) % 2, rank);
          epoch.insert(static_cast<int>(l));
          if (e == 0) all.insert(static_cast<int>(l));
        }
        EXPECT_EQ(epoch.size(), 5u);  // each epoch is a permutation of the partition
      }
      if (!shuffle) {
        EXPECT_EQ(labels[0], labels[1]);
      }
    }
    EXPECT_EQ(all.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(all.count(i), 1u);
  }
}

TYPED_TEST(DataLayerTest, BadPartitionIsAnError) {
  caffe::LayerParameter param = this->Param("lmdb", 2);
  param.mutable_data_param()->mutable_partition()->set_rank(2);
  param.mutable_data_param()->mutable_partition()->set_num_ranks(2);
  DataLayer<TypeParam> layer(param);
  try {
    layer.SetUp(this->bottom_, this->top_);
    FAIL() << "a rank outside the partition count was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_param.partition: rank 2 of 2"), std::string::npos)
        << e.what();
  }
}

TYPED_TEST(DataLayerTest, ShuffledEpochsDiffer) {
  // A record file (a Spark task's spill) is read by position as a database
  // is by key: the same shuffled epochs.
  std::vector<std::vector<TypeParam>> first_backend;
  for (const std::string backend : {"lmdb", "records"}) {
    caffe::LayerParameter param = this->Param(backend, 10);
    param.mutable_data_param()->mutable_partition()->set_shuffle(true);
    param.mutable_data_param()->mutable_partition()->set_shuffle_seed(11);
    DataLayer<TypeParam> layer(param);
    layer.SetUp(this->bottom_, this->top_);
    auto labels = this->Labels(&layer, 4);
    std::set<std::vector<TypeParam>> orders(labels.begin(), labels.end());
    EXPECT_GT(orders.size(), 1u);
    for (auto& l : labels) {
      std::vector<TypeParam> sorted = l;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, (std::vector<TypeParam>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    }
    if (first_backend.empty()) {
      first_backend = labels;
    } else {
      EXPECT_EQ(labels, first_backend) << backend;
    }
  }
}

TYPED_TEST(DataLayerTest, MissingDatabase) {
  caffe::LayerParameter param = this->Param("lmdb", 2);
  param.mutable_data_param()->set_source(this->dir_ / "missing");
  DataLayer<TypeParam> layer(param);
  try {
    layer.SetUp(this->bottom_, this->top_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TYPED_TEST(DataLayerTest, CorruptValueReportedInForward) {
  {
    auto db = db::GetDB("lmdb");
    db->Open(this->dir_ / "lmdb", db::WRITE);
    auto txn = db->NewTransaction();
    txn->Put(Key(2), "\xff\xff\xff garbage");
    txn->Commit();
  }
  DataLayer<TypeParam> layer(this->Param("lmdb", 2));
  layer.SetUp(this->bottom_, this->top_);
  this->Labels(&layer, 1);
  EXPECT_THROW(this->Labels(&layer, 1), Error);
}

// A Datum that parses but is damaged (a flipped byte in its shape) is named
// by database and key, as one that does not parse is.
TYPED_TEST(DataLayerTest, DamagedDatumNamesDatabaseAndKey) {
  caffe::Datum wrong_shape = MakeDatum(2, 2, 3, 4);
  wrong_shape.set_height(30);
  for (const std::string& value : {wrong_shape.SerializeAsString(), std::string("\xff garbage")}) {
    {
      auto db = db::GetDB("lmdb");
      db->Open(this->dir_ / "lmdb", db::WRITE);
      auto txn = db->NewTransaction();
      txn->Put(Key(2), value);
      txn->Commit();
    }
    DataLayer<TypeParam> layer(this->Param("lmdb", 2));
    layer.SetUp(this->bottom_, this->top_);
    this->Labels(&layer, 1);
    try {
      this->Labels(&layer, 1);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(this->dir_ / "lmdb"), std::string::npos) << what;
      EXPECT_NE(what.find("key " + Key(2)), std::string::npos) << what;
    }
  }
}

TYPED_TEST(DataLayerTest, First100LmdbFixture) {
  const std::string fixture = CaffeZooDir() + "/trained/mnist_test_first100_lmdb";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "no fixture " << fixture;
  CopyFixture(fixture, this->dir_ / "first100");
  caffe::LayerParameter param = this->Param("lmdb", 64);
  param.mutable_data_param()->set_source(this->dir_ / "first100");
  param.mutable_transform_param()->set_scale(0.00390625);
  DataLayer<TypeParam> layer(param);
  layer.SetUp(this->bottom_, this->top_);
  EXPECT_EQ(layer.partition_size(), 100u);
  EXPECT_EQ(this->data_.shape(), (std::vector<int>{64, 1, 28, 28}));
  auto labels = this->Labels(&layer, 2);
  for (TypeParam l : labels[0]) {
    EXPECT_GE(l, 0);
    EXPECT_LE(l, 9);
  }
  EXPECT_EQ(labels[1][36], labels[0][0]);  // 64 + 36 = 100 wraps to item 0
  EXPECT_LE(this->data_.asum_data() / this->data_.count(), TypeParam(1));
}

}  // namespace deepspark
