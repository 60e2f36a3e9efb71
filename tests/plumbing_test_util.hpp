// Helpers for the blob-plumbing and normalization layer tests: parameters
// from prototxt text, seeded random blobs, and error-message checks.
#pragma once

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/math_functions.hpp"
#include "deepspark/proto/caffe.pb.h"
#include "deepspark/rng.hpp"

namespace deepspark {
namespace plumbing_test {

inline caffe::LayerParameter ParseLayer(const std::string& text) {
  caffe::LayerParameter p;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &p)) << text;
  return p;
}

template <typename Dtype>
std::unique_ptr<Blob<Dtype>> GaussianBlob(const std::vector<int>& shape, uint64_t seed) {
  auto blob = std::make_unique<Blob<Dtype>>(shape);
  SeedThreadRng(static_cast<int64_t>(seed), 0);
  caffe_rng_gaussian<Dtype>(blob->count(), Dtype(0), Dtype(1), blob->mutable_cpu_data());
  return blob;
}

template <typename Dtype>
std::unique_ptr<Blob<Dtype>> ValueBlob(const std::vector<int>& shape,
                                       const std::vector<double>& values) {
  auto blob = std::make_unique<Blob<Dtype>>(shape);
  EXPECT_EQ(static_cast<size_t>(blob->count()), values.size());
  for (int i = 0; i < blob->count(); ++i) blob->mutable_cpu_data()[i] = Dtype(values[i]);
  return blob;
}

// Runs fn, expects a deepspark::Error whose message holds every piece.
inline void ExpectErrorWith(const std::function<void()>& fn,
                            std::initializer_list<std::string> pieces) {
  try {
    fn();
    ADD_FAILURE() << "expected deepspark::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& piece : pieces) {
      EXPECT_NE(what.find(piece), std::string::npos)
          << "message \"" << what << "\" lacks \"" << piece << "\"";
    }
  }
}

}  // namespace plumbing_test
}  // namespace deepspark
