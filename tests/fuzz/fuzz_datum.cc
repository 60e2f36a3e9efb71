// Fuzz target: a Datum from a database (raw or encoded JPEG/PNG), decoded
// and transformed as the Data layer does: shape, crop, mirror, mean values,
// scale (the first byte picks the transform and colour options).
#include <memory>
#include <vector>

#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"
#include "deepspark/rng.hpp"
#include "fuzz_util.hpp"

using namespace deepspark;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t options = data[0];
  caffe::Datum datum;
  if (!datum.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  caffe::TransformationParameter param;
  param.set_scale(0.00390625f);
  if (options & 1) param.set_crop_size(1 + (options >> 4));
  if (options & 2) param.set_mirror(true);
  if (options & 4) param.add_mean_value(127.f);
  if (options & 8) param.set_force_gray(true);
  try {
    DataTransformer<float> transformer(param, (options & 16) ? caffe::TRAIN : caffe::TEST);
    DecodeDatumInPlace(&datum, param.force_color(), param.force_gray());
    std::vector<int> shape = transformer.InferItemShape(datum);
    shape.insert(shape.begin(), 1);
    Blob<float> blob(shape);
    RngEngine rng(1);
    transformer.Transform(datum, &blob, 0, &rng);
  } catch (const Error&) {
  }
  return 0;
}
