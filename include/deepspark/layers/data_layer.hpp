// Data: reads Datums from an LMDB/LevelDB database (data_param source,
// backend, batch_size, rand_skip, prefetch) and applies transform_param.
// Tops: top[0] (batch_size, C, H', W'), optional top[1] (batch_size) labels.
//
// Item order: the keys of this layer's partition (data_param.partition, a
// DeepSpark field: index % num_ranks == rank, in key order; the whole
// database by default), optionally reshuffled every epoch; batch
// b holds stream positions rand_skip + b*batch_size ... (mod the partition
// size), so the database wraps to its first key at the end. Crop/mirror draws
// of batch b come from a generator seeded by MixSeed(RandomSeed(), b) when
// RandomSeed() >= 0, so runs repeat exactly and SeekData(b) resumes exactly.
//
// Thread safety: a background thread prefetches up to `prefetch` batches; it
// is stopped (and joined) by SeekData and the destructor. The layer itself is
// used by one thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "deepspark/data_transformer.hpp"
#include "deepspark/db.hpp"
#include "deepspark/layer.hpp"

namespace deepspark {

template <typename Dtype>
class DataLayer : public Layer<Dtype> {
 public:
  explicit DataLayer(const caffe::LayerParameter& param);
  ~DataLayer() override;

  void LayerSetUp(const std::vector<Blob<Dtype>*>& bottom,
                  const std::vector<Blob<Dtype>*>& top) override;
  // Shapes are set by LayerSetUp and each Forward (from the batch).
  void Reshape(const std::vector<Blob<Dtype>*>& bottom,
               const std::vector<Blob<Dtype>*>& top) override {}

  const char* type() const override { return "Data"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }

  void SeekData(uint64_t batches) override;

  // Items in this process's partition of the database (after LayerSetUp).
  size_t partition_size() const { return keys_.size(); }

 protected:
  void Forward_cpu(const std::vector<Blob<Dtype>*>& bottom,
                   const std::vector<Blob<Dtype>*>& top) override;
  void Backward_cpu(const std::vector<Blob<Dtype>*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob<Dtype>*>& bottom) override {}

 private:
  struct Batch {
    Blob<Dtype> data;
    Blob<Dtype> label;
    std::exception_ptr error;
  };

  void StartThread();
  void StopThread();
  void ThreadMain(uint64_t first_batch);
  void FillBatch(uint64_t batch_index, db::Cursor* cursor, Batch* batch);
  // The key at a position of this partition's (possibly shuffled) stream.
  const std::string& KeyAt(uint64_t position);
  void ReadDatum(uint64_t position, db::Cursor* cursor, caffe::Datum* datum);

  caffe::DataParameter data_param_;
  std::unique_ptr<DataTransformer<Dtype>> transformer_;
  std::unique_ptr<db::DB> db_;
  caffe::DataPartitionParameter partition_;
  uint64_t shuffle_seed_ = 0;
  std::vector<std::string> keys_;
  // Owned by the prefetch thread: the permutation of the current epoch.
  std::vector<uint32_t> perm_;
  int64_t perm_epoch_ = -1;
  bool output_labels_ = false;
  bool set_up_ = false;

  std::vector<std::unique_ptr<Batch>> batches_;
  std::deque<Batch*> free_, full_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  uint64_t next_batch_ = 0;
};

}  // namespace deepspark
