"""The "Python" layer (pycaffe's PythonLayer): a layer whose methods are a
Python class's, as FCN's and Faster R-CNN's data and proposal layers are.
Gradient-checked by central differences through the net, trained as a data
layer, and run from `python3 -m deepspark train`."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deepspark as caffe

LAYERS = textwrap.dedent('''
    import numpy as np
    import deepspark as caffe


    class Scale(caffe.Layer):
        """top = w * bottom with one learnable w (its blob added in setup),
        and a constant shift from param_str."""

        def setup(self, bottom, top):
            if len(bottom) != 1:
                raise Exception("Scale takes one bottom")
            self.shift = float(self.param_str or 0)
            self.blobs.add_blob(1)
            self.blobs[0].data[...] = 1.5

        def reshape(self, bottom, top):
            top[0].reshape(*bottom[0].data.shape)

        def forward(self, bottom, top):
            top[0].data[...] = self.blobs[0].data[0] * bottom[0].data + self.shift

        def backward(self, top, propagate_down, bottom):
            self.blobs[0].diff[0] += np.sum(top[0].diff * bottom[0].data)
            if propagate_down[0]:
                bottom[0].diff[...] = self.blobs[0].data[0] * top[0].diff


    class Blobs(caffe.Layer):
        """Two points per class on either side of a line, 2-d, a batch of
        param_str rows; a new draw each forward (as a data layer's)."""

        def setup(self, bottom, top):
            self.batch = int(self.param_str)
            self.rng = np.random.default_rng(7 + self.phase)

        def reshape(self, bottom, top):
            top[0].reshape(self.batch, 2)
            top[1].reshape(self.batch)

        def forward(self, bottom, top):
            label = self.rng.integers(0, 2, self.batch)
            top[0].data[...] = self.rng.normal(0, 0.5, (self.batch, 2)) + \\
                np.where(label[:, None] == 1, 1.5, -1.5)
            top[1].data[...] = label

        def backward(self, top, propagate_down, bottom):
            pass


    class Fails(caffe.Layer):
        def reshape(self, bottom, top):
            top[0].reshape(*bottom[0].data.shape)

        def forward(self, bottom, top):
            raise ValueError("no forward today")
''')


@pytest.fixture
def layer_dir(tmp_path, monkeypatch):
    (tmp_path / "py_layers.py").write_text(LAYERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("py_layers", None)
    return tmp_path


def _scale_net(path, shift=0.25):
    path.write_text(textwrap.dedent('''
        name: "scale"
        force_backward: true
        layer { name: "in" type: "Input" top: "x" top: "t"
          input_param { shape { dim: 3 dim: 4 } shape { dim: 3 dim: 4 } } }
        layer { name: "scale" type: "Python" bottom: "x" top: "y"
          python_param { module: "py_layers" layer: "Scale" param_str: "%s" } }
        layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }
    ''' % shift))
    return str(path)


def test_registered_only_where_python_runs():
    assert "Python" in caffe.layer_type_list()


def test_gradient_check_and_learnable_blob(layer_dir):
    """Central differences of the net's loss against backward's diffs, for
    the bottom and for the layer's own parameter blob."""
    net = caffe.Net(_scale_net(layer_dir / "net.prototxt"), caffe.TRAIN)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    t = rng.normal(size=(3, 4)).astype(np.float32)
    net.blobs["x"].data[...] = x
    net.blobs["t"].data[...] = t
    w = net.params["scale"][0]
    assert w.data.shape == (1,) and w.data[0] == pytest.approx(1.5)

    def loss():
        return float(net.forward()["loss"])

    base = loss()
    assert base == pytest.approx(np.sum((1.5 * x + 0.25 - t) ** 2) / 2 / 3, rel=1e-5)
    net.clear_param_diffs()
    net.backward()
    analytic_x = net.blobs["x"].diff.copy()
    analytic_w = float(w.diff[0])
    eps = 1e-2
    numeric_x = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        for sign in (1, -1):
            net.blobs["x"].data[...] = x
            net.blobs["x"].data[i] += sign * eps
            numeric_x[i] += sign * loss() / (2 * eps)
    net.blobs["x"].data[...] = x
    np.testing.assert_allclose(analytic_x, numeric_x, rtol=1e-2, atol=1e-3)
    numeric_w = 0.0
    for sign in (1, -1):
        w.data[0] = 1.5 + sign * eps
        numeric_w += sign * loss() / (2 * eps)
    assert analytic_w == pytest.approx(numeric_w, rel=1e-2, abs=1e-3)


def test_layer_is_the_python_object_and_weights_round_trip(layer_dir):
    net = caffe.Net(_scale_net(layer_dir / "net.prototxt"), caffe.TEST)
    layer = net.layer_dict["scale"]
    assert type(layer).__name__ == "Scale" and layer.type == "Python"
    assert layer.phase == caffe.TEST and layer.param_str == "0.25" and layer.shift == 0.25
    assert net.layers[1] is layer
    net.params["scale"][0].data[...] = 3.0
    net.save(str(layer_dir / "w.caffemodel"))
    other = caffe.Net(_scale_net(layer_dir / "net.prototxt"), caffe.TEST,
                      weights=str(layer_dir / "w.caffemodel"))
    assert other.params["scale"][0].data[0] == 3.0


def _classifier(layer_dir):
    (layer_dir / "train.prototxt").write_text(textwrap.dedent('''
        name: "py_data"
        layer { name: "data" type: "Python" top: "data" top: "label"
          python_param { module: "py_layers" layer: "Blobs" param_str: "32" } }
        layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
          inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }
        layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
        layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "acc"
          include { phase: TEST } }
    '''))
    (layer_dir / "solver.prototxt").write_text(
        'net: "%s/train.prototxt"\nbase_lr: 0.1\nlr_policy: "fixed"\nmax_iter: 60\n'
        'test_iter: 10\ntest_interval: 60\ndisplay: 20\nmomentum: 0.9\n'
        'snapshot_prefix: "%s/py_data"\nsolver_mode: CPU\nrandom_seed: 3\n'
        % (layer_dir, layer_dir))
    return str(layer_dir / "solver.prototxt")


def test_python_data_layer_feeds_training(layer_dir):
    solver = caffe.SGDSolver(_classifier(layer_dir))
    first = float(solver.net.forward()["loss"])
    solver.step(60)
    assert solver.iter == 60
    test = solver.test_nets[0]
    acc = np.mean([float(test.forward()["acc"]) for _ in range(10)])
    assert acc > 0.95, acc
    assert float(solver.net.forward()["loss"]) < first


def test_python_layer_errors_name_the_layer(layer_dir):
    bad = layer_dir / "bad.prototxt"
    bad.write_text('layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 } } }\n'
                   'layer { name: "f" type: "Python" bottom: "x" top: "y"\n'
                   '  python_param { module: "py_layers" layer: "Fails" } }\n')
    net = caffe.Net(str(bad), caffe.TEST)
    with pytest.raises(caffe.DeepSparkError,
                       match=r'layer "f" \(type Python, py_layers.Fails\): forward raised '
                             r'ValueError: no forward today'):
        net.forward()
    missing = layer_dir / "missing.prototxt"
    missing.write_text(bad.read_text().replace('"py_layers"', '"no_such_module"'))
    with pytest.raises(caffe.DeepSparkError, match=r'layer "f" \(type Python\): cannot load class '
                                                   r'"Fails" of module "no_such_module"'):
        caffe.Net(str(missing), caffe.TEST)


def test_python_m_deepspark_trains_it_and_the_binary_says_how(layer_dir):
    solver = _classifier(layer_dir)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(layer_dir)] + sys.path)
    run = subprocess.run([sys.executable, "-m", "deepspark", "train", "--solver", solver],
                         cwd=layer_dir, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Test net output #0: acc" in run.stderr
    assert os.path.exists(layer_dir / "py_data_iter_60.caffemodel")
    binary = subprocess.run([caffe.tool_path(), "train", "--solver", solver], cwd=layer_dir,
                            env=env, capture_output=True, text=True, timeout=300)
    assert binary.returncode != 0
    assert 'layer "data": type "Python" runs Python code' in binary.stderr
    assert "python3 -m deepspark" in binary.stderr


PYLOSS = textwrap.dedent('''
    import numpy as np
    import deepspark as caffe


    class EuclideanLossLayer(caffe.Layer):
        """Half the mean over the batch of the squared distance between the
        two bottoms (Caffe's EuclideanLoss), written as a Python layer."""

        def setup(self, bottom, top):
            if len(bottom) != 2:
                raise Exception("Need two inputs to compute distance.")

        def reshape(self, bottom, top):
            if bottom[0].count != bottom[1].count:
                raise Exception("Inputs must have the same dimension.")
            self.delta = np.zeros_like(bottom[0].data, dtype=np.float32)
            top[0].reshape(1)

        def forward(self, bottom, top):
            self.delta[...] = bottom[0].data - bottom[1].data
            top[0].data[...] = np.sum(self.delta ** 2) / bottom[0].num / 2.0

        def backward(self, top, propagate_down, bottom):
            for i, sign in enumerate((1, -1)):
                if propagate_down[i]:
                    bottom[i].diff[...] = sign * self.delta / bottom[i].num
''')


def test_caffes_linreg_example_trains_unchanged(tmp_path, monkeypatch, zoo):
    """BVLC's examples/pycaffe/linreg.prototxt, as it is: its loss is a
    Python layer (module pyloss, class EuclideanLossLayer) with loss_weight 1."""
    (tmp_path / "pyloss.py").write_text(PYLOSS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("pyloss", None)
    net_path = os.path.join(zoo, "bvlc", "examples", "pycaffe", "linreg.prototxt")
    (tmp_path / "solver.prototxt").write_text(
        'net: "%s"\nbase_lr: 0.01\nlr_policy: "fixed"\nmomentum: 0.9\nmax_iter: 100\n'
        'snapshot_prefix: "linreg"\nsolver_mode: CPU\nrandom_seed: 1\n' % net_path)
    caffe.set_random_seed(1)
    solver = caffe.SGDSolver(str(tmp_path / "solver.prototxt"))
    net = solver.net
    assert net.layer_dict["loss"].type == "Python"
    assert net.blob_loss_weights["loss"] == 1.0
    net.forward()
    expected = np.sum((net.blobs["ipx"].data - net.blobs["ipy"].data) ** 2) / 10 / 2
    assert float(net.blobs["loss"].data[0]) == pytest.approx(expected, rel=1e-5)
    losses = []
    for _ in range(10):
        solver.step(10)
        losses.append(float(net.blobs["loss"].data[0]))
    # DummyData's gaussian draws are new each forward: the two layers learn
    # to map both to the same place, and the distance falls.
    assert losses[-1] < 0.2 * expected, (expected, losses)
