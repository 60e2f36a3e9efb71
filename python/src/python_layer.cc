// The "Python" layer (pycaffe's PythonLayer): a layer whose setup, reshape,
// forward and backward are methods of a Python class, named by
//   python_param { module: "my_layers" layer: "MyLayer" param_str: "..." }
// The class is constructed with the layer's caffe_pb2.LayerParameter (as
// pycaffe does); before setup its param_str, phase (deepspark.TRAIN/TEST) and
// blobs (the layer's parameter blobs, with add_blob(*shape)) are set. bottom
// and top are lists of deepspark.Blob whose data/diff are numpy views of the
// C++ blobs: writing into them writes the net's memory, no copy.
//
// The layer exists only where Python runs: this extension registers it when
// deepspark is imported, so nets built from Python (deepspark.Net, the
// solvers, `python3 -m deepspark train`) may hold it; the `deepspark` binary
// names this way out instead.
//
// Thread safety: each call takes the GIL (the net's forward and the
// solver's step run without it) and holds it only for the Python call.
#include "python_layer.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/layer.hpp"
#include "deepspark/layer_factory.hpp"

namespace py = pybind11;

namespace deepspark {
namespace python {
namespace {

using BlobF = Blob<float>;

// A Blob object for Python that does not own the blob: the net does, and
// outlives the call (as in pycaffe, an array kept after its net is gone
// dangles).
py::list BlobList(const std::vector<BlobF*>& blobs) {
  py::list out;
  for (BlobF* b : blobs) out.append(py::cast(std::shared_ptr<BlobF>(std::shared_ptr<void>(), b)));
  return out;
}

// pycaffe's layer.blobs: the parameter blobs, which Python may extend in
// setup with add_blob(*shape) (new blobs are zero; the solver learns them).
struct ParamBlobs {
  std::vector<std::shared_ptr<BlobF>>* blobs;
};

class PythonLayer : public Layer<float> {
 public:
  PythonLayer(const caffe::LayerParameter& param, py::object self)
      : Layer<float>(param), self_(std::move(self)) {}

  ~PythonLayer() override {
    // The object is Python's: release it with the GIL, or leave it to the
    // interpreter if that has already ended (a net kept until exit).
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      self_ = py::object();
    } else {
      self_.release();
    }
  }

  const py::object& self() const { return self_; }

  void LayerSetUp(const std::vector<BlobF*>& bottom, const std::vector<BlobF*>& top) override {
    py::gil_scoped_acquire gil;
    Call("setup", [&] {
      self_.attr("param_str") = py::str(layer_param_.python_param().param_str());
      self_.attr("phase") = static_cast<int>(phase_);
      self_.attr("blobs") = ParamBlobs{&blobs_};
      self_.attr("setup")(BlobList(bottom), BlobList(top));
    });
    // Blobs added in setup are learnable, as Caffe's net assumes of every
    // parameter blob unless param { lr_mult: 0 } says otherwise.
    param_propagate_down_.assign(blobs_.size(), true);
  }

  void Reshape(const std::vector<BlobF*>& bottom, const std::vector<BlobF*>& top) override {
    py::gil_scoped_acquire gil;
    Call("reshape", [&] { self_.attr("reshape")(BlobList(bottom), BlobList(top)); });
  }

  const char* type() const override { return "Python"; }

 protected:
  void Forward_cpu(const std::vector<BlobF*>& bottom, const std::vector<BlobF*>& top) override {
    py::gil_scoped_acquire gil;
    Call("forward", [&] { self_.attr("forward")(BlobList(bottom), BlobList(top)); });
  }

  void Backward_cpu(const std::vector<BlobF*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<BlobF*>& bottom) override {
    py::gil_scoped_acquire gil;
    Call("backward", [&] {
      py::list down;
      for (bool d : propagate_down) down.append(py::bool_(d));
      self_.attr("backward")(BlobList(top), down, BlobList(bottom));
    });
  }

 private:
  // Runs fn (GIL held); a Python exception becomes deepspark::Error naming
  // the layer, its class and the method, with Python's own message.
  template <typename Fn>
  void Call(const char* method, Fn&& fn) {
    try {
      fn();
    } catch (py::error_already_set& e) {
      const auto& p = layer_param_.python_param();
      THROW_ERROR() << "layer \"" << layer_param_.name() << "\" (type Python, " << p.module() << "."
                    << p.layer() << "): " << method << " raised " << e.what();
    }
  }

  py::object self_;
};

std::shared_ptr<Layer<float>> CreatePythonLayer(const caffe::LayerParameter& param) {
  const auto& p = param.python_param();
  REQUIRE(!p.module().empty() && !p.layer().empty())
      << "layer \"" << param.name()
      << "\" (type Python): python_param needs both module and layer (the Python module and "
         "the class in it)";
  py::gil_scoped_acquire gil;
  py::object cls;
  try {
    cls = py::module_::import(p.module().c_str()).attr(p.layer().c_str());
  } catch (py::error_already_set& e) {
    THROW_ERROR() << "layer \"" << param.name() << "\" (type Python): cannot load class \""
                  << p.layer() << "\" of module \"" << p.module() << "\" (is its folder on "
                  << "sys.path / PYTHONPATH?): " << e.what();
  }
  py::object self;
  try {
    py::object pb = py::module_::import("deepspark.proto.caffe_pb2").attr("LayerParameter");
    self = cls(pb.attr("FromString")(py::bytes(param.SerializeAsString())));
  } catch (py::error_already_set& e) {
    THROW_ERROR() << "layer \"" << param.name() << "\" (type Python, " << p.module() << "."
                  << p.layer() << "): constructing it raised " << e.what();
  }
  return std::make_shared<PythonLayer>(param, std::move(self));
}

}  // namespace

py::object PythonLayerObject(Layer<float>* layer) {
  auto* python = dynamic_cast<PythonLayer*>(layer);
  return python ? python->self() : py::none();
}

void BindPythonLayer(py::module_& m) {
  py::class_<ParamBlobs>(m, "_LayerBlobs")
      .def("__len__", [](const ParamBlobs& b) { return b.blobs->size(); })
      .def("__getitem__",
           [](const ParamBlobs& b, py::ssize_t i) {
             const auto n = static_cast<py::ssize_t>(b.blobs->size());
             if (i < 0) i += n;
             if (i < 0 || i >= n) throw py::index_error("layer blob index out of range");
             return (*b.blobs)[i];
           })
      .def("__iter__", [](const ParamBlobs& b) { return py::iter(py::cast(*b.blobs)); })
      .def("add_blob", [](ParamBlobs& b, py::args dims) {
        std::vector<int> shape;
        for (auto d : dims) shape.push_back(d.cast<int>());
        b.blobs->push_back(std::make_shared<BlobF>(shape));
      });
  // Once per process: a second import of the extension (a reload) finds it.
  if (!LayerRegistry<float>::Has("Python")) {
    LayerRegistry<float>::AddCreator("Python", &CreatePythonLayer);
  }
}

}  // namespace python
}  // namespace deepspark
