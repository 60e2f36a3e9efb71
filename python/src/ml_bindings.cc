// What deepspark.ml's Model needs from C++: the deploy form of the trained
// net, and Caffe's transform_param applied to a batch of images as the data
// layer would have (so inference on DataFrame rows sees what training saw).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"
#include "deepspark/deploy_net.hpp"
#include "deepspark/io.hpp"
#include "deepspark/rng.hpp"

namespace py = pybind11;

namespace deepspark {
namespace python {
namespace {

// Writes the deploy net of the train/test net at net_path to out_path (text)
// with an input of `shape`; returns the data layer's transform_param
// (serialized) and its mean file's path ("" if none).
py::tuple MakeDeploy(const std::string& net_path, const std::string& out_path,
                     const std::vector<int>& shape) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(net_path, &param);
  caffe::TransformationParameter transform;
  const caffe::NetParameter deploy = MakeDeployNet(param, shape, &transform);
  WriteProtoToTextFile(deploy, out_path);
  return py::make_tuple(py::bytes(transform.SerializeAsString()), transform.mean_file());
}

// images: (N, C, H, W) uint8 (Datum.data) or anything else (as float32,
// Datum.float_data). Returns (N, C', H', W') float32 after the TEST phase's
// transform (centre crop, scale, mean file or values; mirror if asked).
py::array_t<float> TransformImages(const py::bytes& param_bytes, py::array images,
                                   const py::bytes& mean_bytes) {
  caffe::TransformationParameter param;
  REQUIRE(param.ParseFromString(std::string(param_bytes))) << "malformed transform_param";
  std::unique_ptr<DataTransformer<float>> transformer;
  const std::string mean_text = mean_bytes;
  if (!mean_text.empty()) {
    caffe::BlobProto mean;
    REQUIRE(mean.ParseFromString(mean_text)) << "the mean file's contents are not a BlobProto";
    transformer = std::make_unique<DataTransformer<float>>(param, caffe::TEST, mean);
  } else {
    transformer = std::make_unique<DataTransformer<float>>(param, caffe::TEST);
  }
  REQUIRE(images.ndim() == 4) << "images must be (N, C, H, W); got " << images.ndim()
                              << " dimensions";
  const int n = static_cast<int>(images.shape(0)), c = static_cast<int>(images.shape(1)),
            h = static_cast<int>(images.shape(2)), w = static_cast<int>(images.shape(3));
  const bool bytes = images.dtype().is(py::dtype::of<uint8_t>());
  py::array_t<uint8_t, py::array::c_style | py::array::forcecast> u8;
  py::array_t<float, py::array::c_style | py::array::forcecast> f32;
  if (bytes) {
    u8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(images);
  } else {
    f32 = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(images);
  }
  const size_t item = static_cast<size_t>(c) * h * w;
  caffe::Datum datum;
  datum.set_channels(c);
  datum.set_height(h);
  datum.set_width(w);
  std::vector<int> out_item = {c, h, w};
  if (n > 0) {
    if (bytes) {
      datum.set_data(reinterpret_cast<const char*>(u8.data()), item);
    } else {
      datum.mutable_float_data()->Add(f32.data(), f32.data() + item);
    }
    out_item = transformer->InferItemShape(datum);
  }
  py::array_t<float> out({n, out_item[0], out_item[1], out_item[2]});
  const size_t out_size = static_cast<size_t>(out_item[0]) * out_item[1] * out_item[2];
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    RngEngine rng(1);  // mirror: random in TEST too, as in Caffe
    for (int i = 0; i < n; ++i) {
      if (bytes) {
        datum.set_data(reinterpret_cast<const char*>(u8.data()) + i * item, item);
      } else {
        datum.clear_float_data();
        datum.mutable_float_data()->Add(f32.data() + i * item, f32.data() + (i + 1) * item);
      }
      transformer->Transform(datum, dst + i * out_size, &rng);
    }
  }
  return out;
}

// An encoded image (JPEG, PNG or BMP bytes) as Caffe's encoded Datum: the
// bytes as they are, decoded by the Data layer (serialized Datum).
py::bytes EncodedDatum(const py::bytes& image, int label) {
  caffe::Datum datum;
  datum.set_data(std::string(image));
  datum.set_encoded(true);
  datum.set_label(label);
  return py::bytes(datum.SerializeAsString());
}

// Decodes an encoded image as the Data layer would (its size checked from
// its header first): (C, H, W) uint8, BGR for colour as OpenCV gives it.
py::array_t<uint8_t> DecodeImage(const py::bytes& image, bool force_color, bool force_gray) {
  caffe::Datum datum;
  datum.set_data(std::string(image));
  datum.set_encoded(true);
  {
    py::gil_scoped_release release;
    DecodeDatumInPlace(&datum, force_color, force_gray);
  }
  py::array_t<uint8_t> out({datum.channels(), datum.height(), datum.width()});
  std::copy(datum.data().begin(), datum.data().end(), out.mutable_data());
  return out;
}

}  // namespace

void BindMl(py::module_& m) {
  m.def("encoded_datum", &EncodedDatum, py::arg("image"), py::arg("label") = 0);
  m.def("decode_image", &DecodeImage, py::arg("image"), py::arg("force_color") = false,
        py::arg("force_gray") = false);
  m.def("make_deploy_net", &MakeDeploy, py::arg("net_path"), py::arg("out_path"), py::arg("shape"));
  m.def("transform_images", &TransformImages, py::arg("transform_param"), py::arg("images"),
        py::arg("mean") = py::bytes());
}

}  // namespace python
}  // namespace deepspark
