// deepspark._deepspark io helpers: Datum and BlobProto to and from numpy
// (messages cross the binding as serialized bytes, so Python needs no
// protobuf module), LMDB/LevelDB reading and writing through db.hpp (Spark
// tasks write their partition with it), the job key, and the job solver the
// Spark driver hands the parameter server.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/db.hpp"
#include "deepspark/distributed/job.hpp"
#include "deepspark/distributed/param_server.hpp"
#include "deepspark/distributed/protocol.hpp"
#include "deepspark/io.hpp"
#include "deepspark/proto/caffe.pb.h"

namespace py = pybind11;

namespace deepspark {
namespace python {
namespace {

// (C,H,W) or (H,W) array to a Datum: uint8 goes to data, anything else to
// float_data, as Caffe's array_to_datum.
py::bytes ArrayToDatum(py::array arr, int label) {
  REQUIRE(arr.ndim() == 3 || arr.ndim() == 2)
      << "array_to_datum needs a (C,H,W) or (H,W) array, not " << arr.ndim() << " axes";
  caffe::Datum datum;
  const bool three = arr.ndim() == 3;
  datum.set_channels(three ? arr.shape(0) : 1);
  datum.set_height(arr.shape(three ? 1 : 0));
  datum.set_width(arr.shape(three ? 2 : 1));
  datum.set_label(label);
  if (arr.dtype().is(py::dtype::of<uint8_t>())) {
    auto a = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(arr);
    datum.set_data(std::string(reinterpret_cast<const char*>(a.data()), a.size()));
  } else {
    auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arr);
    REQUIRE(a) << "array_to_datum: cannot convert to float32";
    for (py::ssize_t i = 0; i < a.size(); ++i) datum.add_float_data(a.data()[i]);
  }
  std::string out;
  datum.SerializeToString(&out);
  return py::bytes(out);
}

py::tuple DatumToArray(const std::string& bytes) {
  caffe::Datum datum;
  REQUIRE(datum.ParseFromString(bytes)) << "datum_to_array: not a serialized Datum";
  REQUIRE(!datum.encoded()) << "datum_to_array: the Datum holds an encoded image; decode it first";
  std::vector<py::ssize_t> shape{datum.channels(), datum.height(), datum.width()};
  const size_t count = static_cast<size_t>(datum.channels()) * datum.height() * datum.width();
  if (!datum.data().empty()) {
    REQUIRE(datum.data().size() == count)
        << "datum_to_array: " << datum.data().size() << " bytes for shape " << shape[0] << "x"
        << shape[1] << "x" << shape[2];
    py::array_t<uint8_t> a(shape);
    std::copy(datum.data().begin(), datum.data().end(), reinterpret_cast<char*>(a.mutable_data()));
    return py::make_tuple(a, datum.label());
  }
  REQUIRE(static_cast<size_t>(datum.float_data_size()) == count)
      << "datum_to_array: " << datum.float_data_size() << " floats for shape " << shape[0] << "x"
      << shape[1] << "x" << shape[2];
  py::array_t<float> a(shape);
  std::copy(datum.float_data().begin(), datum.float_data().end(), a.mutable_data());
  return py::make_tuple(a, datum.label());
}

py::bytes ArrayToBlobProto(py::array arr, py::object diff) {
  auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arr);
  REQUIRE(a) << "array_to_blobproto: cannot convert to float32";
  caffe::BlobProto proto;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) proto.mutable_shape()->add_dim(a.shape(i));
  for (py::ssize_t i = 0; i < a.size(); ++i) proto.add_data(a.data()[i]);
  if (!diff.is_none()) {
    auto d = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(diff);
    REQUIRE(d && d.size() == a.size()) << "array_to_blobproto: diff differs in size from data";
    for (py::ssize_t i = 0; i < d.size(); ++i) proto.add_diff(d.data()[i]);
  }
  std::string out;
  proto.SerializeToString(&out);
  return py::bytes(out);
}

py::array_t<float> BlobProtoToArray(const std::string& bytes, bool return_diff) {
  caffe::BlobProto proto;
  REQUIRE(proto.ParseFromString(bytes)) << "blobproto_to_array: not a serialized BlobProto";
  std::vector<py::ssize_t> shape;
  if (proto.has_shape()) {
    for (auto d : proto.shape().dim()) shape.push_back(d);
  } else {  // legacy 4-d
    shape = {proto.num(), proto.channels(), proto.height(), proto.width()};
  }
  py::array_t<float> a(shape);
  const bool dbl = return_diff ? proto.double_diff_size() > 0 : proto.double_data_size() > 0;
  const int n = return_diff ? (dbl ? proto.double_diff_size() : proto.diff_size())
                            : (dbl ? proto.double_data_size() : proto.data_size());
  REQUIRE(n == a.size()) << "blobproto_to_array: " << n << " values for " << a.size()
                         << " elements";
  float* out = a.mutable_data();
  for (int i = 0; i < n; ++i) {
    out[i] = return_diff ? (dbl ? proto.double_diff(i) : proto.diff(i))
                         : (dbl ? proto.double_data(i) : proto.data(i));
  }
  return a;
}

// Writes key/value pairs; commits every `batch` puts and on close.
class DBWriter {
 public:
  DBWriter(const std::string& path, const std::string& backend, int batch)
      : db_(db::GetDB(backend)), batch_(batch) {
    db_->Open(path, db::NEW);
    txn_ = db_->NewTransaction();
  }
  void Put(const std::string& key, const std::string& value) {
    REQUIRE(db_) << "the database is closed";
    txn_->Put(key, value);
    if (++pending_ >= batch_) Commit();
  }
  void Commit() {
    if (!db_) return;
    txn_->Commit();
    txn_ = db_->NewTransaction();
    pending_ = 0;
  }
  void Close() {
    if (!db_) return;
    if (pending_) txn_->Commit();
    txn_.reset();
    db_->Close();
    db_.reset();
  }
  ~DBWriter() { Close(); }

 private:
  std::unique_ptr<db::DB> db_;
  std::unique_ptr<db::Transaction> txn_;
  int batch_;
  int pending_ = 0;
};

std::vector<std::pair<py::bytes, py::bytes>> ReadDB(const std::string& path,
                                                    const std::string& backend, int64_t limit) {
  auto database = db::GetDB(backend);
  database->Open(path, db::READ);
  std::vector<std::pair<py::bytes, py::bytes>> out;
  auto cursor = database->NewCursor();
  for (cursor->SeekToFirst(); cursor->valid() && (limit < 0 || (int64_t)out.size() < limit);
       cursor->Next()) {
    out.emplace_back(py::bytes(cursor->key()), py::bytes(cursor->value()));
  }
  cursor.reset();
  database->Close();
  return out;
}

// The solver the Spark driver runs: nets inlined, the train source pointed at
// a local database (the server builds the train net, so it must open), optional
// overrides; written as text to out_path (and its net to net_out_path).
void MakeJobSolver(const std::string& solver_path, const std::string& out_path,
                   const std::string& train_source, const std::string& test_source, int max_iter,
                   int test_iter, int test_interval, const std::string& snapshot_prefix,
                   int train_batch, int test_batch, const std::string& net_out_path,
                   const std::string& root) {
  caffe::SolverParameter param = distributed::ReadJobSolver(solver_path, root);
  caffe::NetParameter* nets[] = {
      param.has_net_param() ? param.mutable_net_param() : nullptr,
      param.has_train_net_param() ? param.mutable_train_net_param() : nullptr};
  for (auto* net : nets) {
    if (!net) continue;
    distributed::SetDataSource(net, caffe::TRAIN, train_source, train_batch);
    distributed::SetDataSource(net, caffe::TEST, test_source, test_batch);
  }
  for (auto& net : *param.mutable_test_net_param()) {
    distributed::SetDataSource(&net, caffe::TEST, test_source, test_batch);
  }
  if (max_iter > 0) param.set_max_iter(max_iter);
  if (test_iter > 0) {
    for (int i = 0; i < param.test_iter_size(); ++i) param.set_test_iter(i, test_iter);
  }
  if (test_interval >= 0) param.set_test_interval(test_interval);
  if (!snapshot_prefix.empty()) param.set_snapshot_prefix(snapshot_prefix);
  param.set_solver_mode(caffe::SolverParameter::CPU);
  WriteProtoToTextFile(param, out_path);
  // The inlined net alone, for a deepspark.Net of the trained center.
  if (!net_out_path.empty()) {
    WriteProtoToTextFile(param.has_net_param() ? param.net_param() : param.train_net_param(),
                         net_out_path);
  }
}

}  // namespace

void BindIo(py::module_& m) {
  m.def("array_to_datum", &ArrayToDatum, py::arg("arr"), py::arg("label") = 0);
  m.def("datum_to_array", &DatumToArray, py::arg("datum"));
  m.def("array_to_blobproto", &ArrayToBlobProto, py::arg("arr"), py::arg("diff") = py::none());
  m.def("blobproto_to_array", &BlobProtoToArray, py::arg("blob"), py::arg("return_diff") = false);
  py::class_<DBWriter>(m, "DBWriter")
      .def(py::init<const std::string&, const std::string&, int>(), py::arg("path"),
           py::arg("backend") = "lmdb", py::arg("batch") = 1000)
      .def("put", &DBWriter::Put)
      .def("commit", &DBWriter::Commit)
      .def("close", &DBWriter::Close);
  m.def("read_db", &ReadDB, py::arg("path"), py::arg("backend") = "lmdb", py::arg("limit") = -1);
  m.def("generate_job_key",
        []() { return distributed::JobKeyText(distributed::GenerateJobKey()); });
  m.def("write_job_key", [](const std::string& text, const std::string& path) {
    distributed::WriteJobKey(distributed::ParseJobKey(text, "key text"), path);
  });
  m.def("make_job_solver", &MakeJobSolver, py::arg("solver_path"), py::arg("out_path"),
        py::arg("train_source") = "", py::arg("test_source") = "", py::arg("max_iter") = 0,
        py::arg("test_iter") = 0, py::arg("test_interval") = -1, py::arg("snapshot_prefix") = "",
        py::arg("train_batch") = 0, py::arg("test_batch") = 0, py::arg("net_out_path") = "",
        py::arg("root") = "");
}

}  // namespace python
}  // namespace deepspark
