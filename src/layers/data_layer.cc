#include "deepspark/layers/data_layer.hpp"

#include <random>

#include "deepspark/layer_factory.hpp"
#include "deepspark/parallel.hpp"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace {

// Caffe's deprecated data_param transform fields, used when transform_param
// is absent.
caffe::TransformationParameter TransformParamOf(const caffe::LayerParameter& param) {
  caffe::TransformationParameter t = param.transform_param();
  const caffe::DataParameter& d = param.data_param();
  if (!param.has_transform_param()) {
    if (d.has_scale()) t.set_scale(d.scale());
    if (d.has_mean_file()) t.set_mean_file(d.mean_file());
    if (d.has_crop_size()) t.set_crop_size(d.crop_size());
    if (d.has_mirror()) t.set_mirror(d.mirror());
  }
  if (d.force_encoded_color() && !t.has_force_color()) t.set_force_color(true);
  return t;
}

RngEngine EngineFor(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  return RngEngine(seq);
}

}  // namespace

template <typename Dtype>
DataLayer<Dtype>::DataLayer(const caffe::LayerParameter& param)
    : Layer<Dtype>(param), data_param_(param.data_param()) {}

template <typename Dtype>
DataLayer<Dtype>::~DataLayer() {
  StopThread();
}

template <typename Dtype>
void DataLayer<Dtype>::LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                                  const std::vector<Blob<Dtype>*>& top) {
  StopThread();
  REQUIRE(data_param_.batch_size() > 0) << "data_param.batch_size must be positive";
  REQUIRE(!data_param_.source().empty()) << "data_param.source is not set";
  REQUIRE(data_param_.prefetch() > 0) << "data_param.prefetch must be positive";
  transformer_ =
      std::make_unique<DataTransformer<Dtype>>(TransformParamOf(this->layer_param_), this->phase_);
  output_labels_ = top.size() > 1;

  partition_ = data_param_.partition();
  REQUIRE(partition_.num_ranks() >= 1 && partition_.rank() >= 0 &&
          partition_.rank() < partition_.num_ranks())
      << "data_param.partition: rank " << partition_.rank() << " of " << partition_.num_ranks();
  if (partition_.shuffle_seed() >= 0) {
    shuffle_seed_ = partition_.shuffle_seed();
  } else {
    shuffle_seed_ = RandomSeed() >= 0 ? static_cast<uint64_t>(RandomSeed()) : 0;
  }
  db_ = db::GetDB(data_param_.backend());
  db_->Open(data_param_.source(), db::READ);
  keys_.clear();
  {
    auto cursor = db_->NewCursor();
    uint64_t index = 0;
    for (cursor->SeekToFirst(); cursor->valid(); cursor->Next(), ++index) {
      if (index % partition_.num_ranks() == static_cast<uint64_t>(partition_.rank())) {
        keys_.push_back(cursor->key());
      }
    }
    REQUIRE(!keys_.empty()) << "database " << data_param_.source() << " holds no items"
                            << (partition_.num_ranks() > 1 ? " for this partition" : "");
    REQUIRE(keys_.size() < (uint64_t(1) << 32))
        << "database " << data_param_.source() << " is too large";
  }
  LOG(INFO) << "Data layer " << this->layer_param_.name() << ": " << keys_.size() << " items from "
            << data_param_.source()
            << (partition_.num_ranks() > 1 ? " (partition " + std::to_string(partition_.rank()) +
                                               " of " + std::to_string(partition_.num_ranks()) + ")"
                                         : std::string());
  perm_epoch_ = -1;

  // Shape the tops from the first item of the first batch.
  caffe::Datum datum;
  {
    auto cursor = db_->NewCursor();
    ReadDatum(data_param_.rand_skip(), cursor.get(), &datum);
  }
  const int batch_size = data_param_.batch_size();
  try {
    std::vector<int> shape = transformer_->InferItemShape(datum);
    shape.insert(shape.begin(), batch_size);
    top[0]->Reshape(shape);
  } catch (const Error& e) {
    THROW_ERROR() << "database " << data_param_.source() << ", key "
                  << KeyAt(data_param_.rand_skip()) << ": " << e.what();
  }
  if (output_labels_) top[1]->Reshape(std::vector<int>{batch_size});

  batches_.clear();
  for (uint32_t i = 0; i < data_param_.prefetch(); ++i) {
    batches_.push_back(std::make_unique<Batch>());
  }
  set_up_ = true;
  StartThread();
}

template <typename Dtype>
void DataLayer<Dtype>::StartThread() {
  free_.clear();
  full_.clear();
  for (auto& batch : batches_) {
    batch->error = nullptr;
    free_.push_back(batch.get());
  }
  stop_ = false;
  thread_ = std::thread(&DataLayer::ThreadMain, this, next_batch_);
}

template <typename Dtype>
void DataLayer<Dtype>::StopThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

template <typename Dtype>
void DataLayer<Dtype>::ThreadMain(uint64_t first_batch) {
  // Prefetching overlaps the step, whose layers already use every core the
  // worker was given: one thread here, so no second OpenMP team competes
  // with them (OpenMP's thread count is per thread).
  SetNumThreads(1);
  std::unique_ptr<db::Cursor> cursor;
  for (uint64_t b = first_batch;; ++b) {
    Batch* batch = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      batch = free_.front();
      free_.pop_front();
    }
    bool failed = false;
    try {
      if (!cursor) cursor = db_->NewCursor();
      FillBatch(b, cursor.get(), batch);
    } catch (...) {
      batch->error = std::current_exception();
      failed = true;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(batch);
    }
    cv_.notify_all();
    if (failed) return;
  }
}

template <typename Dtype>
const std::string& DataLayer<Dtype>::KeyAt(uint64_t position) {
  const uint64_t size = keys_.size();
  const uint64_t index = position % size;
  if (!partition_.shuffle()) return keys_[index];
  const int64_t epoch = static_cast<int64_t>(position / size);
  if (epoch != perm_epoch_) {
    perm_ = SeededPermutation(size, MixSeed(MixSeed(shuffle_seed_, partition_.rank()), epoch));
    perm_epoch_ = epoch;
  }
  return keys_[perm_[index]];
}

template <typename Dtype>
void DataLayer<Dtype>::ReadDatum(uint64_t position, db::Cursor* cursor, caffe::Datum* datum) {
  const std::string& key = KeyAt(position);
  // Sequential reads just step the cursor; anything else seeks.
  if (!cursor->valid() || cursor->key() != key) {
    cursor->Seek(key);
    REQUIRE(cursor->valid()) << "database " << data_param_.source() << " lost key " << key;
  }
  REQUIRE(datum->ParseFromString(cursor->value()))
      << "database " << data_param_.source() << ": value of key " << key << " is not a valid Datum";
  cursor->Next();
}

template <typename Dtype>
void DataLayer<Dtype>::FillBatch(uint64_t batch_index, db::Cursor* cursor, Batch* batch) {
  const int batch_size = data_param_.batch_size();
  const uint64_t start = data_param_.rand_skip() + batch_index * batch_size;
  RngEngine engine = RandomSeed() >= 0 ? EngineFor(MixSeed(RandomSeed(), batch_index))
                                       : RngEngine(std::random_device()());
  caffe::Datum datum;
  std::vector<int> item_shape;
  for (int i = 0; i < batch_size; ++i) {
    ReadDatum(start + i, cursor, &datum);
    const DataTransformer<Dtype>& t = *transformer_;
    try {
      DecodeDatumInPlace(&datum, t.param().force_color(), t.param().force_gray());
      std::vector<int> shape = t.InferItemShape(datum);
      if (i == 0) {
        item_shape = shape;
        shape.insert(shape.begin(), batch_size);
        batch->data.Reshape(shape);
        batch->label.Reshape(std::vector<int>{batch_size});
      } else {
        REQUIRE(shape == item_shape) << "items of one batch have different shapes";
      }
      t.Transform(datum, &batch->data, i, &engine);
    } catch (const Error& e) {
      // A Datum that parses can still be damaged (a flipped byte in its
      // shape or its encoded image): say which one.
      THROW_ERROR() << "database " << data_param_.source() << ", key " << KeyAt(start + i) << ": "
                    << e.what();
    }
    batch->label.mutable_cpu_data()[i] = static_cast<Dtype>(datum.label());
  }
}

template <typename Dtype>
void DataLayer<Dtype>::Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                                   const std::vector<Blob<Dtype>*>& top) {
  CHECK(set_up_) << "Data layer used before SetUp";
  if (!thread_.joinable()) StartThread();
  Batch* batch = nullptr;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !full_.empty(); });
    batch = full_.front();
    full_.pop_front();
  }
  if (batch->error) {
    std::exception_ptr error = batch->error;
    StopThread();  // The thread has ended; restart from this batch next time.
    std::rethrow_exception(error);
  }
  top[0]->ReshapeLike(batch->data);
  caffe_copy(batch->data.count(), batch->data.cpu_data(), top[0]->mutable_cpu_data());
  if (output_labels_) {
    top[1]->ReshapeLike(batch->label);
    caffe_copy(batch->label.count(), batch->label.cpu_data(), top[1]->mutable_cpu_data());
  }
  ++next_batch_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(batch);
  }
  cv_.notify_all();
}

template <typename Dtype>
void DataLayer<Dtype>::SeekData(uint64_t batches) {
  StopThread();
  next_batch_ = batches;
  if (set_up_) StartThread();
}

INSTANTIATE_CLASS(DataLayer);
REGISTER_LAYER_CLASS(Data);

}  // namespace deepspark
