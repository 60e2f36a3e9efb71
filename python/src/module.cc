// deepspark._deepspark: the pybind11 binding behind the Python package.
// Net, Blob and Solver are thin: the Python side (deepspark/__init__.py)
// builds pycaffe's dictionaries on top. Blob data and diff are numpy arrays
// that view the blob's memory; each array's base holds the blob's owner (a
// shared_ptr), so the memory outlives the array even if the net is dropped.
// A reshape may reallocate a blob: take fresh arrays after one (as pycaffe).
//
// Thread safety: as the C++ classes (one thread per Net or Solver); calls into
// C++ release the GIL only where they run long (forward, backward, step).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "../../src/tools/commands.hpp"
#include "deepspark/blob.hpp"
#include "deepspark/common.hpp"
#include "deepspark/gpu.hpp"
#include "deepspark/hdf5_snapshot.hpp"
#include "deepspark/io.hpp"
#include "deepspark/layer_factory.hpp"
#include "deepspark/layers/memory_data_layer.hpp"
#include "deepspark/net.hpp"
#include "deepspark/rng.hpp"
#include "deepspark/solver.hpp"
#include "deepspark/solver_factory.hpp"
#include "python_layer.hpp"

namespace py = pybind11;

namespace deepspark {
namespace python {

void BindIo(py::module_& m);  // io_bindings.cc
void BindMl(py::module_& m);  // ml_bindings.cc

namespace {

using BlobF = Blob<float>;
using NetF = Net<float>;
using SolverF = Solver<float>;

py::array BlobArray(const std::shared_ptr<BlobF>& blob, bool diff) {
  std::vector<py::ssize_t> shape(blob->shape().begin(), blob->shape().end());
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(float);
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= shape[i];
  }
  float* ptr = diff ? blob->mutable_cpu_diff() : blob->mutable_cpu_data();
  // The capsule owns a copy of the shared_ptr: the array keeps the blob alive.
  auto* holder = new std::shared_ptr<BlobF>(blob);
  py::capsule base(holder, [](void* p) { delete static_cast<std::shared_ptr<BlobF>*>(p); });
  return py::array(py::dtype::of<float>(), shape, strides, ptr, base);
}

void AssignArray(const std::shared_ptr<BlobF>& blob, bool diff, py::array value) {
  auto arr = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(value);
  REQUIRE(arr) << "cannot convert the value to a float32 array";
  REQUIRE(arr.size() == blob->count() || arr.size() == 1)
      << "assigning " << arr.size() << " values to a blob of shape " << blob->shape_string();
  float* dst = diff ? blob->mutable_cpu_diff() : blob->mutable_cpu_data();
  if (arr.size() == 1) {
    std::fill(dst, dst + blob->count(), *arr.data());
  } else {
    std::copy(arr.data(), arr.data() + arr.size(), dst);
  }
}

// Holds the solver so Python objects for its nets can share the nets.
// pycaffe's Solver.add_callback: Python functions run at the start of each
// iteration and once its gradients are ready (before the update). Step runs
// without the GIL, so each call takes it.
class PyCallback : public SolverF::Callback {
 public:
  PyCallback(py::function on_start, py::function on_gradients_ready)
      : on_start_(std::move(on_start)), on_gradients_ready_(std::move(on_gradients_ready)) {}
  ~PyCallback() override {
    py::gil_scoped_acquire gil;
    on_start_ = py::function();
    on_gradients_ready_ = py::function();
  }
  void on_start() override {
    py::gil_scoped_acquire gil;
    on_start_();
  }
  void on_gradients_ready() override {
    py::gil_scoped_acquire gil;
    on_gradients_ready_();
  }

 private:
  py::function on_start_, on_gradients_ready_;
};

// pycaffe's Net._set_input_arrays: the first layer, a MemoryData layer,
// serves these arrays (not copied: the Python side keeps them alive), with
// pycaffe's checks and messages.
void CheckInputArray(const py::array& a, const char* name, int channels, int height, int width) {
  REQUIRE(a.flags() & py::array::c_style) << name << " must be C contiguous";
  REQUIRE(a.ndim() == 4) << name << " must be 4-d";
  REQUIRE(a.dtype().is(py::dtype::of<float>())) << name << " must be float32";
  REQUIRE(a.shape(1) == channels) << name << " has wrong number of channels";
  REQUIRE(a.shape(2) == height) << name << " has wrong height";
  REQUIRE(a.shape(3) == width) << name << " has wrong width";
}

void SetInputArrays(NetF& net, py::array data, py::array labels) {
  auto* layer =
      net.layers().empty() ? nullptr : dynamic_cast<MemoryDataLayer<float>*>(net.layers()[0].get());
  REQUIRE(layer) << "set_input_arrays may only be called if the first layer is a MemoryDataLayer";
  CheckInputArray(data, "data array", layer->channels(), layer->height(), layer->width());
  CheckInputArray(labels, "label array", 1, 1, 1);
  REQUIRE(data.shape(0) == labels.shape(0)) << "data and labels must have the same first dimension";
  REQUIRE(data.shape(0) % layer->batch_size() == 0)
      << "first dimensions of input arrays must be a multiple of batch size";
  layer->Reset(static_cast<float*>(data.mutable_data()), static_cast<float*>(labels.mutable_data()),
               static_cast<int>(data.shape(0)));
}

struct PySolver {
  std::unique_ptr<SolverF> solver;
  // Declared after the solver, so destroyed before it (the solver keeps
  // raw pointers to them).
  std::vector<std::unique_ptr<PyCallback>> callbacks;
};

std::shared_ptr<PySolver> MakeSolver(const std::string& path, const std::string& type) {
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(path, &param);
  if (!type.empty()) param.set_type(type);
  auto s = std::make_shared<PySolver>();
  s->solver = CreateSolver<float>(param);
  return s;
}

}  // namespace

PYBIND11_MODULE(_deepspark, m) {
  m.doc() = "DeepSpark's C++ engine (use the deepspark package, not this module)";
  py::register_exception<Error>(m, "DeepSparkError", PyExc_RuntimeError);

  m.attr("TRAIN") = static_cast<int>(caffe::TRAIN);
  m.attr("TEST") = static_cast<int>(caffe::TEST);

  py::class_<BlobF, std::shared_ptr<BlobF>>(m, "Blob")
      .def(py::init([](const std::vector<int>& shape) { return std::make_shared<BlobF>(shape); }),
           py::arg("shape"))
      .def_property_readonly("shape", [](const BlobF& b) { return b.shape(); })
      .def_property_readonly("count", [](const BlobF& b) { return b.count(); })
      .def_property_readonly("num", [](const BlobF& b) { return b.num_axes() ? b.shape(0) : 1; })
      // pycaffe's legacy 4-d view: axes past the blob's own count as 1.
      .def_property_readonly("channels",
                             [](const BlobF& b) { return b.num_axes() > 1 ? b.shape(1) : 1; })
      .def_property_readonly("height",
                             [](const BlobF& b) { return b.num_axes() > 2 ? b.shape(2) : 1; })
      .def_property_readonly("width",
                             [](const BlobF& b) { return b.num_axes() > 3 ? b.shape(3) : 1; })
      .def("reshape",
           [](BlobF& b, py::args dims) {
             std::vector<int> shape;
             for (auto d : dims) shape.push_back(d.cast<int>());
             b.Reshape(shape);
           })
      .def_property(
          "data", [](const std::shared_ptr<BlobF>& b) { return BlobArray(b, false); },
          [](const std::shared_ptr<BlobF>& b, py::array v) { AssignArray(b, false, v); })
      .def_property(
          "diff", [](const std::shared_ptr<BlobF>& b) { return BlobArray(b, true); },
          [](const std::shared_ptr<BlobF>& b, py::array v) { AssignArray(b, true, v); });

  py::class_<NetF, std::shared_ptr<NetF>>(m, "_Net")
      .def(py::init([](const std::string& prototxt, int phase, int level,
                       const std::vector<std::string>& stages) {
             REQUIRE(phase == caffe::TRAIN || phase == caffe::TEST)
                 << "phase must be deepspark.TRAIN or deepspark.TEST";
             return std::make_shared<NetF>(prototxt, static_cast<caffe::Phase>(phase), level,
                                           &stages);
           }),
           py::arg("prototxt"), py::arg("phase"), py::arg("level") = 0,
           py::arg("stages") = std::vector<std::string>{})
      .def("copy_from", py::overload_cast<const std::string&>(&NetF::CopyTrainedLayersFrom))
      .def("_set_input_arrays", &SetInputArrays)
      .def(
          "forward",
          [](NetF& net, int start, int end) {
            py::gil_scoped_release release;
            if (end < 0) end = static_cast<int>(net.layers().size()) - 1;
            return net.ForwardFromTo(start, end);
          },
          py::arg("start") = 0, py::arg("end") = -1)
      .def(
          "backward",
          [](NetF& net, int start, int end) {
            py::gil_scoped_release release;
            if (start < 0) start = static_cast<int>(net.layers().size()) - 1;
            net.BackwardFromTo(start, end);
          },
          py::arg("start") = -1, py::arg("end") = 0)
      .def("reshape", &NetF::Reshape)
      .def("share_with", &NetF::ShareTrainedLayersWith)
      .def(
          "save",
          [](const NetF& net, const std::string& path, bool write_diff) {
            caffe::NetParameter param;
            net.ToProto(&param, write_diff);
            WriteProtoToBinaryFile(param, path);
          },
          py::arg("path"), py::arg("write_diff") = false)
      .def(
          "save_hdf5",
          [](const NetF& net, const std::string& path, bool write_diff) {
            net.ToHDF5(path, write_diff);
          },
          py::arg("path"), py::arg("write_diff") = false)
      .def("load_hdf5",
           [](NetF& net, const std::string& path) {
             REQUIRE(IsHDF5File(path)) << path << ": not an HDF5 file";
             net.CopyTrainedLayersFrom(path);
           })
      .def_property_readonly("name", &NetF::name)
      .def_property_readonly("phase", [](const NetF& n) { return static_cast<int>(n.phase()); })
      .def_property_readonly("blob_names", &NetF::blob_names)
      .def_property_readonly("layer_names", &NetF::layer_names)
      .def_property_readonly("blob_list", &NetF::blobs)
      .def("layer_type",
           [](const NetF& n, int i) { return n.layers().at(i)->layer_param().type(); })
      .def("layer_blobs", [](const NetF& n, int i) { return n.layers().at(i)->blobs(); })
      .def("layer_object",
           [](const NetF& n, int i) { return PythonLayerObject(n.layers().at(i).get()); })
      .def("top_names",
           [](const NetF& n, int i) {
             std::vector<std::string> names;
             for (int id : n.top_ids(i)) names.push_back(n.blob_names()[id]);
             return names;
           })
      .def("bottom_names",
           [](const NetF& n, int i) {
             std::vector<std::string> names;
             for (int id : n.bottom_ids(i)) names.push_back(n.blob_names()[id]);
             return names;
           })
      .def_property_readonly("blob_loss_weights", &NetF::blob_loss_weights)
      .def_property_readonly("input_names",
                             [](const NetF& n) {
                               std::vector<std::string> names;
                               for (int i : n.input_blob_indices())
                                 names.push_back(n.blob_names()[i]);
                               return names;
                             })
      .def_property_readonly("output_names", [](const NetF& n) {
        std::vector<std::string> names;
        for (int i : n.output_blob_indices()) names.push_back(n.blob_names()[i]);
        return names;
      });

  py::class_<PySolver, std::shared_ptr<PySolver>>(m, "_Solver")
      .def(py::init(&MakeSolver), py::arg("path"), py::arg("type") = "")
      .def("step",
           [](PySolver& s, int iters) {
             py::gil_scoped_release release;
             s.solver->Step(iters);
           })
      .def(
          "solve",
          [](PySolver& s, const std::string& resume) {
            py::gil_scoped_release release;
            s.solver->Solve(resume);
          },
          py::arg("resume_file") = "")
      .def("restore", [](PySolver& s, const std::string& f) { s.solver->Restore(f); })
      .def("snapshot", [](PySolver& s) { return s.solver->Snapshot(); })
      .def("apply_update",
           [](PySolver& s) {
             py::gil_scoped_release release;
             s.solver->ApplyUpdate();
           })
      .def("add_callback",
           [](PySolver& s, py::function on_start, py::function on_gradients_ready) {
             s.callbacks.push_back(
                 std::make_unique<PyCallback>(std::move(on_start), std::move(on_gradients_ready)));
             s.solver->add_callback(s.callbacks.back().get());
           })
      .def_property_readonly(
          "param_bytes",
          [](const PySolver& s) { return py::bytes(s.solver->param().SerializeAsString()); })
      .def("test_all",
           [](PySolver& s) {
             std::vector<std::pair<std::string, float>> out;
             for (const auto& score : s.solver->TestAll())
               out.emplace_back(score.name, score.value);
             return out;
           })
      .def_property_readonly("type",
                             [](const PySolver& s) { return std::string(s.solver->type()); })
      .def_property(
          "iter", [](const PySolver& s) { return s.solver->iter(); },
          [](PySolver& s, int it) { s.solver->set_iter(it); })
      .def_property_readonly("net", [](const PySolver& s) { return s.solver->net(); })
      .def_property_readonly("test_nets", [](const PySolver& s) { return s.solver->test_nets(); });

  // pycaffe's set_mode_gpu/set_device (deepspark/__init__.py): the calling
  // thread's device and compute mode (gpu.hpp).
  m.def("gpu_device_count", [] {
    std::string why;
    const int count = Gpu().DeviceCount(&why);
    return py::make_tuple(count, why);
  });
  m.def(
      "use_gpu",
      [](int device) {
        std::string why;
        const std::vector<int> ids =
            ParseGpuIds(std::to_string(device), Gpu().DeviceCount(&why), why);
        Gpu().SetDevice(ids[0]);
        SetComputeMode(ComputeMode::kGpu);
      },
      py::arg("device"));
  m.def("use_cpu", [] { SetComputeMode(ComputeMode::kCpu); });
  m.def("on_gpu", [] { return CurrentComputeMode() == ComputeMode::kGpu; });
  m.def("set_random_seed", &SetRandomSeed, py::arg("seed"));
  m.def("set_log_level", &SetMinLogLevel, py::arg("level"));
  m.def("log_level", &MinLogLevel);
  m.def("layer_type_list", &LayerRegistry<float>::LayerTypeList);
  // `python3 -m deepspark ARGS`: the binary's commands in this process, so
  // nets with Python layers run; processes it starts run `tool`.
  m.def(
      "run_command_line",
      [](std::vector<std::string> args, const std::string& tool) {
        tools::SetToolExecutable(tool);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        py::gil_scoped_release release;
        return tools::RunCommandLine(static_cast<int>(argv.size()), argv.data());
      },
      py::arg("args"), py::arg("tool"));

  BindIo(m);
  BindMl(m);
  BindPythonLayer(m);
}

}  // namespace python
}  // namespace deepspark
