"""DeepSpark from Python, with pycaffe's API.

    import deepspark
    net = deepspark.Net("deploy.prototxt", deepspark.TEST, weights="w.caffemodel")
    out = net.forward()                   # {output blob name: numpy array}
    net.blobs["data"].data[...] = images  # numpy views of the C++ blobs
    solver = deepspark.get_solver("solver.prototxt")
    solver.step(100)

Training on an Apache Spark cluster: deepspark.spark.train (see docs/spark.md).
"""
from collections import OrderedDict
import os

import numpy as np

from . import _deepspark
from ._deepspark import TRAIN, TEST, Blob, DeepSparkError  # noqa: F401
from . import io  # noqa: F401

__all__ = ["Net", "Blob", "TRAIN", "TEST", "get_solver", "SGDSolver", "NesterovSolver",
           "AdaGradSolver", "RMSPropSolver", "AdaDeltaSolver", "AdamSolver", "tool_path",
           "DeepSparkError", "set_mode_cpu", "set_mode_gpu", "set_device", "set_random_seed",
           "init_log", "layer_type_list", "__version__", "Classifier", "Detector", "NetSpec",
           "layers", "params", "to_proto", "io", "proto", "Layer"]

__version__ = "0.1.0"


# pycaffe's module-level functions.
_gpu_device = 0


def set_mode_cpu():
    """Layers of this thread compute on the CPU (the default)."""
    _deepspark.use_cpu()


def set_mode_gpu():
    """Layers of this thread run their GPU code on the device of
    set_device (0 by default), as pycaffe's. Without a GPU (or a build
    without CUDA) says why once and stays on the CPU, where pycaffe would
    fail at the first layer. The GPU path is new and has not yet been run on
    a GPU (README, "What is not there yet")."""
    count, why = _deepspark.gpu_device_count()
    if count == 0:
        import warnings
        warnings.warn("no GPU (%s): set_mode_gpu() keeps the CPU" % why, RuntimeWarning,
                      stacklevel=2)
        return
    _deepspark.use_gpu(_gpu_device)


def set_device(device_id):
    """The GPU that set_mode_gpu uses (now, if already in GPU mode)."""
    global _gpu_device
    _gpu_device = int(device_id)
    if _deepspark.on_gpu():
        _deepspark.use_gpu(_gpu_device)


def set_random_seed(seed):
    """Seeds the random generator of fillers, dropout and data shuffling."""
    _deepspark.set_random_seed(int(seed))


def init_log(level=0, use_stderr=True):
    """Logs messages of `level` (0 INFO .. 3 FATAL) and above, as glog's
    minloglevel; GLOG_minloglevel and DEEPSPARK_LOG_LEVEL set it at import."""
    del use_stderr  # the log always goes to stderr
    _deepspark.set_log_level(int(level))


def layer_type_list():
    """The registered layer types (the prototxt `type` strings)."""
    return list(_deepspark.layer_type_list())


class _Layer:
    """One layer of a Net, as pycaffe's net.layers[i]: its type and its
    parameter blobs."""

    def __init__(self, net, index):
        self._net, self._index = net, index

    @property
    def type(self):
        return self._net.layer_type(self._index)

    @property
    def blobs(self):
        return list(self._net.layer_blobs(self._index))


class Layer:
    """Base class of Python layers, as pycaffe's caffe.Layer. A net layer
    of type "Python" names its class with python_param { module: "m"
    layer: "C" param_str: "..." }; the class is constructed with the
    layer's caffe_pb2.LayerParameter, then gets `param_str`, `phase` and
    `blobs` (its parameter blobs; blobs.add_blob(*shape) adds one) before
    setup(bottom, top). bottom and top are lists of Blob, whose .data and
    .diff are numpy views of the net's memory: forward(bottom, top) writes
    top[i].data, backward(top, propagate_down, bottom) writes bottom[i].diff
    where propagate_down[i], and reshape(bottom, top) shapes the tops with
    top[i].reshape(*shape). Runs where Python runs (deepspark.Net, solvers,
    `python3 -m deepspark train`), not in the `deepspark` binary's workers."""

    type = "Python"

    def __init__(self, param=None):
        del param

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        pass

    def forward(self, bottom, top):
        pass

    def backward(self, top, propagate_down, bottom):
        pass


def tool_path():
    """The `deepspark` command-line tool shipped with this package."""
    env = os.environ.get("DEEPSPARK_TOOL")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "deepspark")
    if os.path.exists(here):
        return here
    import shutil
    found = shutil.which("deepspark")
    if found:
        return found
    raise DeepSparkError("cannot find the deepspark tool (set DEEPSPARK_TOOL)")


def _check_file(path):
    """pycaffe's CheckFile: a file that cannot be opened is an IOError."""
    try:
        with open(path, "rb"):
            pass
    except OSError:
        raise IOError("Could not open file " + str(path)) from None


class Net:
    """A net, as pycaffe's: Net(prototxt, phase, level=0, stages=None,
    weights=None) or Net(prototxt, weights, phase). level and stages select
    layers by their include/exclude rules, as Caffe's NetState."""

    def __init__(self, prototxt, phase=None, weights=None, level=0, stages=None, **kwargs):
        cnet = kwargs.pop("_net", None)
        if isinstance(phase, (str, os.PathLike)) and not isinstance(phase, int):
            # pycaffe's Net(prototxt, weights, phase)
            phase, weights = (weights if weights is not None else kwargs.pop("phase", None)), phase
        if phase is None:
            phase = kwargs.pop("phase", None)
        if kwargs:
            raise TypeError("Net() got an unexpected keyword argument '%s'" % next(iter(kwargs)))
        if phase is None:
            raise TypeError("Net needs a phase (deepspark.TRAIN or deepspark.TEST)")
        if cnet is None:
            _check_file(prototxt)
            if weights is not None:
                _check_file(weights)
            cnet = _deepspark._Net(str(prototxt), int(phase), int(level),
                                   [str(s) for s in (stages or [])])
        self._net = cnet
        if weights is not None:
            self._net.copy_from(str(weights))

    @classmethod
    def _wrap(cls, cnet):
        net = cls.__new__(cls)
        net._net = cnet
        return net

    @property
    def name(self):
        return self._net.name

    @property
    def phase(self):
        return self._net.phase

    @property
    def blobs(self):
        """OrderedDict blob name -> Blob (data/diff are numpy views)."""
        return OrderedDict(zip(self._net.blob_names, self._net.blob_list))

    @property
    def params(self):
        """OrderedDict layer name -> [Blob] for layers with parameters."""
        out = OrderedDict()
        for i, name in enumerate(self._net.layer_names):
            blobs = self._net.layer_blobs(i)
            if blobs:
                out[name] = blobs
        return out

    @property
    def layer_dict(self):
        """OrderedDict layer name -> layer (with .type and .blobs)."""
        return OrderedDict(zip(self._net.layer_names, self.layers))

    @property
    def layers(self):
        """[layer] in order, each with .type and .blobs."""
        out = []
        for i in range(len(self._net.layer_names)):
            python_layer = self._net.layer_object(i)  # a Python layer is itself
            out.append(_Layer(self._net, i) if python_layer is None else python_layer)
        return out

    @property
    def top_names(self):
        """OrderedDict layer name -> [its top blob names]."""
        return OrderedDict((n, list(self._net.top_names(i)))
                           for i, n in enumerate(self._net.layer_names))

    @property
    def bottom_names(self):
        """OrderedDict layer name -> [its bottom blob names]."""
        return OrderedDict((n, list(self._net.bottom_names(i)))
                           for i, n in enumerate(self._net.layer_names))

    @property
    def blob_loss_weights(self):
        """OrderedDict blob name -> its loss weight (0 for non-losses)."""
        return OrderedDict(zip(self._net.blob_names, self._net.blob_loss_weights))

    @property
    def _layer_names(self):
        return list(self._net.layer_names)

    @property
    def inputs(self):
        return list(self._net.input_names)

    @property
    def outputs(self):
        return list(self._net.output_names)

    def _layer_index(self, name, default):
        if name is None:
            return default
        return list(self._net.layer_names).index(name)

    def forward(self, blobs=None, start=None, end=None, **kwargs):
        """Runs forward (from layer `start` to `end`, by name); keyword
        arguments set input blobs first. Returns {output name: numpy view}
        (copy them to keep values across calls). As pycaffe's, keyword
        arguments must name every input, each a whole batch."""
        all_blobs = self.blobs
        if kwargs:
            if set(kwargs) != set(self.inputs):
                raise Exception("Input blob arguments do not match net inputs.")
            for name, value in kwargs.items():
                if np.shape(value)[0] != all_blobs[name].data.shape[0]:
                    raise Exception("Input is not batch sized")
                all_blobs[name].data[...] = value
        self._net.forward(self._layer_index(start, 0), self._layer_index(end, -1))
        if end is None:
            names = set(self.outputs) | set(blobs or [])
        else:  # pycaffe: the tops of the last layer run
            names = set(self._net.top_names(self._layer_index(end, -1))) | set(blobs or [])
        return {n: all_blobs[n].data for n in names}

    def backward(self, diffs=None, start=None, end=None, **kwargs):
        """Runs backward; keyword arguments set output diffs first. Returns
        {input name: diff view} (pycaffe's result). As pycaffe's, keyword
        arguments must name every output, each a whole batch."""
        all_blobs = self.blobs
        if kwargs:
            if set(kwargs) != set(self.outputs):
                raise Exception("Top diff arguments do not match net outputs.")
            for name, value in kwargs.items():
                if np.shape(value)[0] != all_blobs[name].diff.shape[0]:
                    raise Exception("Diff is not batch sized")
                all_blobs[name].diff[...] = value
        self._net.backward(self._layer_index(start, -1), self._layer_index(end, 0))
        names = set(self.inputs) | set(diffs or [])
        return {n: all_blobs[n].diff for n in names if n in all_blobs}

    def _batch(self, blobs):
        """Yields {name: batch} slices of the arrays in `blobs` (all of one
        length) by the net's batch size; the last batch is padded with zeros."""
        num = len(next(iter(blobs.values())))
        batch_size = next(iter(self.blobs.values())).data.shape[0]
        for i in range(0, num - num % batch_size, batch_size):
            yield {name: arr[i:i + batch_size] for name, arr in blobs.items()}
        rest = num % batch_size
        if rest:
            padded = {}
            for name, arr in blobs.items():
                arr = np.asarray(arr)
                pad = np.zeros((batch_size - rest,) + arr.shape[1:], dtype=arr.dtype)
                padded[name] = np.concatenate([arr[num - rest:], pad])
            yield padded

    @staticmethod
    def _gather(parts, count):
        """{name: [batch arrays]} -> {name: one array of the first `count`}."""
        return {name: np.concatenate(arrs)[:count] if arrs else np.empty((0,))
                for name, arrs in parts.items()}

    def forward_all(self, blobs=None, **kwargs):
        """Runs forward over inputs of any length (keyword arguments: input
        name -> array of items), a batch at a time, as pycaffe's. Returns
        {output (and `blobs`) name: array with one row per item}."""
        names = set(self.outputs) | set(blobs or [])
        if not kwargs:
            out = self.forward(blobs=blobs)
            return {name: out[name].copy() for name in names}
        count = len(next(iter(kwargs.values())))
        parts = {name: [] for name in names}
        for batch in self._batch(kwargs):
            out = self.forward(blobs=blobs, **batch)
            for name in names:
                parts[name].append(out[name].copy())
        return self._gather(parts, count)

    def forward_backward_all(self, blobs=None, diffs=None, **kwargs):
        """forward_all and backward together, as pycaffe's: keyword arguments
        for inputs feed forward, those for outputs give top diffs to backward.
        Returns ({blob name: data}, {blob name: diff}), one row per item."""
        inputs, outputs = self.inputs, self.outputs
        fwd = {k: v for k, v in kwargs.items() if k in inputs}
        bwd = {k: v for k, v in kwargs.items() if k in outputs}
        out_names = set(outputs) | set(blobs or [])
        diff_names = set(inputs) | set(diffs or [])
        data_parts = {name: [] for name in out_names}
        diff_parts = {name: [] for name in diff_names}
        fwd_batches = list(self._batch(fwd)) if fwd else []
        bwd_batches = list(self._batch(bwd)) if bwd else []
        for i in range(max(len(fwd_batches), len(bwd_batches), 1)):
            fb = fwd_batches[i] if i < len(fwd_batches) else {}
            bb = bwd_batches[i] if i < len(bwd_batches) else {}
            out = self.forward(blobs=blobs, **fb)
            grads = self.backward(diffs=diffs, **bb)
            for name in out_names:
                data_parts[name].append(out[name].copy())
            for name in diff_names:
                diff_parts[name].append(grads[name].copy())
        count = len(next(iter(kwargs.values()))) if kwargs else None
        return self._gather(data_parts, count), self._gather(diff_parts, count)

    def set_input_arrays(self, data, labels):
        """Feeds the net's first layer, a MemoryData layer, from these arrays
        (float32, C-contiguous, (N, C, H, W) and N labels; N a multiple of
        its batch size), as pycaffe's. They are not copied: the net keeps a
        reference, and later writes to them show in later batches."""
        labels = np.asarray(labels)
        if labels.ndim == 1:
            labels = np.ascontiguousarray(labels[:, np.newaxis, np.newaxis, np.newaxis])
        self._net._set_input_arrays(data, labels)
        self._input_arrays = (data, labels)

    def clear_param_diffs(self):
        """Sets the diffs of every parameter to zero."""
        for blobs in self.params.values():
            for blob in blobs:
                blob.diff[...] = 0

    def reshape(self):
        self._net.reshape()

    def copy_from(self, weights):
        self._net.copy_from(str(weights))

    def share_with(self, other):
        self._net.share_with(other._net)

    def save(self, path, write_diff=False):
        """Writes the weights as a binary .caffemodel."""
        self._net.save(str(path), write_diff)

    def save_hdf5(self, path):
        """Writes the weights as Caffe's HDF5 .caffemodel.h5 (pycaffe's
        Net.save_hdf5)."""
        self._net.save_hdf5(str(path))

    def load_hdf5(self, path):
        """Copies weights by layer name from an HDF5 .caffemodel.h5
        (pycaffe's Net.load_hdf5); copy_from reads either format."""
        _check_file(path)
        self._net.load_hdf5(str(path))


class Solver:
    """A solver read from a solver prototxt (its type from the file unless
    the subclass names one)."""
    _type = ""

    def __init__(self, path):
        self._solver = _deepspark._Solver(str(path), self._type)
        self._net = Net._wrap(self._solver.net)
        self._test_nets = [Net._wrap(n) for n in self._solver.test_nets]

    @property
    def net(self):
        return self._net

    @property
    def test_nets(self):
        return self._test_nets

    @property
    def iter(self):
        return self._solver.iter

    @property
    def type(self):
        return self._solver.type

    def step(self, iters):
        self._solver.step(int(iters))

    def solve(self, resume_file=None):
        self._solver.solve(str(resume_file) if resume_file else "")

    def restore(self, state_file):
        self._solver.restore(str(state_file))

    def snapshot(self):
        """Writes PREFIX_iter_N.caffemodel and PREFIX_iter_N.solverstate
        (both with .h5 after them where snapshot_format is HDF5); returns
        the state's path."""
        return self._solver.snapshot()

    @property
    def param(self):
        """The solver's SolverParameter (a caffe_pb2 copy), as pycaffe's."""
        from .proto import caffe_pb2
        return caffe_pb2.SolverParameter.FromString(self._solver.param_bytes)

    def apply_update(self):
        """One update of the parameters from the diffs now in them (after
        your own forward/backward), as pycaffe's; the iteration stays."""
        self._solver.apply_update()

    def add_callback(self, on_start, on_gradients_ready):
        """Calls on_start() at the start of every iteration of step/solve and
        on_gradients_ready() once its gradients are in the diffs, before the
        update (pycaffe's; NCCL uses it for multi-GPU)."""
        self._solver.add_callback(on_start, on_gradients_ready)

    def share_weights(self, net):
        """Makes `net` use this solver's train-net weights (no copy)."""
        net.share_with(self._net)

    def test(self):
        """Tests every test net; returns [(output name, mean value)]."""
        return self._solver.test_all()


class SGDSolver(Solver):
    _type = "SGD"


class NesterovSolver(Solver):
    _type = "Nesterov"


class AdaGradSolver(Solver):
    _type = "AdaGrad"


class RMSPropSolver(Solver):
    _type = "RMSProp"


class AdaDeltaSolver(Solver):
    _type = "AdaDelta"


class AdamSolver(Solver):
    _type = "Adam"


def get_solver(path):
    """The solver named by the file's type (default SGD)."""
    return Solver(path)


def __getattr__(name):
    """`caffe.draw` after `import deepspark as caffe`, imported on first use
    (it needs pydot and graphviz, which nothing else does)."""
    if name == "draw":
        import importlib
        return importlib.import_module(".draw", __name__)
    raise AttributeError("module 'deepspark' has no attribute '%s'" % name)


# pycaffe's other names (they build on Net, so they come last).
from . import proto  # noqa: E402,F401
from .classifier import Classifier  # noqa: E402,F401
from .detector import Detector  # noqa: E402,F401
from .net_spec import layers, params, NetSpec, to_proto  # noqa: E402,F401


class _CaffeNames:
    """Answers the import system for "caffe" and "caffe.X" with deepspark and
    deepspark.X (the same module objects, so nothing loads twice), so that
    after `import deepspark as caffe` a pycaffe script's other import lines
    run unchanged: `from caffe import layers as L, params as P`,
    `from caffe.proto import caffe_pb2`, `import caffe.draw`."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "caffe" and not name.startswith("caffe."):
            return None
        import importlib.util
        return importlib.util.spec_from_loader(name, _CaffeNames)

    @staticmethod
    def create_module(spec):
        import importlib
        return importlib.import_module("deepspark" + spec.name[len("caffe"):])

    @staticmethod
    def exec_module(module):
        pass


def _answer_to_caffe():
    # Only where no real pycaffe can be imported: DeepSpark never shadows it.
    import importlib.util
    import sys
    if "caffe" in sys.modules:
        return
    try:
        if importlib.util.find_spec("caffe") is not None:
            return
    except (ImportError, ValueError):
        return
    # First: submodules ("caffe.proto") must not be found again, as new
    # copies, through the parent's __path__.
    sys.meta_path.insert(0, _CaffeNames)


_answer_to_caffe()
