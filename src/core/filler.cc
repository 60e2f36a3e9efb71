#include "deepspark/filler.hpp"

#include <cmath>

#include "deepspark/math_functions.hpp"

namespace deepspark {
namespace {

template <typename Dtype>
Dtype VarianceNormN(const caffe::FillerParameter& param, const Blob<Dtype>& blob) {
  REQUIRE(blob.count() > 0 && blob.num_axes() >= 1)
      << param.type() << " filler needs a non-empty blob";
  Dtype fan_in = static_cast<Dtype>(blob.count()) / blob.shape(0);
  Dtype fan_out = blob.num_axes() > 1 ? static_cast<Dtype>(blob.count()) / blob.shape(1)
                                      : static_cast<Dtype>(blob.count());
  switch (param.variance_norm()) {
    case caffe::FillerParameter::AVERAGE:
      return (fan_in + fan_out) / Dtype(2);
    case caffe::FillerParameter::FAN_OUT:
      return fan_out;
    default:
      return fan_in;
  }
}

template <typename Dtype>
class ConstantFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    caffe_set(blob->count(), static_cast<Dtype>(this->filler_param_.value()),
              blob->mutable_cpu_data());
    REQUIRE(this->filler_param_.sparse() == -1) << "sparsity is not supported by the constant filler";
  }
};

template <typename Dtype>
class UniformFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    REQUIRE(this->filler_param_.min() <= this->filler_param_.max())
        << "uniform filler: min " << this->filler_param_.min() << " > max "
        << this->filler_param_.max();
    caffe_rng_uniform<Dtype>(blob->count(), this->filler_param_.min(),
                             this->filler_param_.max(), blob->mutable_cpu_data());
  }
};

template <typename Dtype>
class GaussianFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    Dtype* data = blob->mutable_cpu_data();
    REQUIRE(this->filler_param_.std() > 0) << "gaussian filler needs std > 0";
    caffe_rng_gaussian<Dtype>(blob->count(), this->filler_param_.mean(),
                              this->filler_param_.std(), data);
    int sparse = this->filler_param_.sparse();
    REQUIRE(sparse >= -1) << "gaussian filler: sparse must be >= -1";
    if (sparse >= 0) {
      // Keep each weight with probability sparse / num_outputs, so that each
      // output sees `sparse` non-zero inputs on average.
      REQUIRE(blob->num_axes() >= 1) << "sparse gaussian filler needs a shaped blob";
      const int num_outputs = blob->shape(0);
      Dtype non_zero_probability = Dtype(sparse) / Dtype(num_outputs);
      std::vector<int> mask(blob->count());
      caffe_rng_bernoulli<Dtype>(blob->count(), std::min(Dtype(1), non_zero_probability),
                                 mask.data());
      for (int i = 0; i < blob->count(); ++i) data[i] *= mask[i];
    }
  }
};

template <typename Dtype>
class PositiveUnitballFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    Dtype* data = blob->mutable_cpu_data();
    caffe_rng_uniform<Dtype>(blob->count(), 0, 1, data);
    // Each row (index along axis 0) sums to one.
    int num = blob->shape(0);
    int dim = blob->count() / num;
    for (int i = 0; i < num; ++i) {
      Dtype sum = 0;
      for (int j = 0; j < dim; ++j) sum += data[i * dim + j];
      for (int j = 0; j < dim; ++j) data[i * dim + j] /= sum;
    }
    REQUIRE(this->filler_param_.sparse() == -1)
        << "sparsity is not supported by the positive_unitball filler";
  }
};

template <typename Dtype>
class XavierFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    Dtype n = VarianceNormN(this->filler_param_, *blob);
    Dtype scale = std::sqrt(Dtype(3) / n);
    caffe_rng_uniform<Dtype>(blob->count(), -scale, scale, blob->mutable_cpu_data());
    REQUIRE(this->filler_param_.sparse() == -1) << "sparsity is not supported by the xavier filler";
  }
};

template <typename Dtype>
class MSRAFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    Dtype n = VarianceNormN(this->filler_param_, *blob);
    Dtype std = std::sqrt(Dtype(2) / n);
    caffe_rng_gaussian<Dtype>(blob->count(), Dtype(0), std, blob->mutable_cpu_data());
    REQUIRE(this->filler_param_.sparse() == -1) << "sparsity is not supported by the msra filler";
  }
};

// Bilinear upsampling weights for Deconvolution: every (out, in) channel
// pair gets the same K x K kernel.
template <typename Dtype>
class BilinearFiller : public Filler<Dtype> {
 public:
  using Filler<Dtype>::Filler;
  void Fill(Blob<Dtype>* blob) override {
    REQUIRE(blob->num_axes() == 4) << "bilinear filler needs a 4-D blob, got "
                                   << blob->shape_string();
    REQUIRE(blob->shape(2) == blob->shape(3))
        << "bilinear filler needs a square kernel, got " << blob->shape_string();
    Dtype* data = blob->mutable_cpu_data();
    int kernel = blob->shape(3);
    int f = static_cast<int>(std::ceil(kernel / 2.0));
    Dtype c = Dtype(kernel - 1) / (2 * f);
    for (int i = 0; i < blob->count(); ++i) {
      Dtype x = i % kernel;
      Dtype y = (i / kernel) % kernel;
      data[i] = (1 - std::fabs(x / f - c)) * (1 - std::fabs(y / f - c));
    }
    REQUIRE(this->filler_param_.sparse() == -1)
        << "sparsity is not supported by the bilinear filler";
  }
};

}  // namespace

template <typename Dtype>
std::unique_ptr<Filler<Dtype>> GetFiller(const caffe::FillerParameter& param) {
  const std::string& type = param.type();
  if (type == "constant") return std::make_unique<ConstantFiller<Dtype>>(param);
  if (type == "gaussian") return std::make_unique<GaussianFiller<Dtype>>(param);
  if (type == "positive_unitball") return std::make_unique<PositiveUnitballFiller<Dtype>>(param);
  if (type == "uniform") return std::make_unique<UniformFiller<Dtype>>(param);
  if (type == "xavier") return std::make_unique<XavierFiller<Dtype>>(param);
  if (type == "msra") return std::make_unique<MSRAFiller<Dtype>>(param);
  if (type == "bilinear") return std::make_unique<BilinearFiller<Dtype>>(param);
  THROW_ERROR() << "unknown filler type \"" << type
                << "\" (known: bilinear, constant, gaussian, msra, positive_unitball, uniform, "
                   "xavier)";
  return nullptr;
}

template std::unique_ptr<Filler<float>> GetFiller<float>(const caffe::FillerParameter&);
template std::unique_ptr<Filler<double>> GetFiller<double>(const caffe::FillerParameter&);

}  // namespace deepspark
