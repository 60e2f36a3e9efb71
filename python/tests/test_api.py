"""The Python API against the C++ engine's known results."""
import os

import numpy as np
import pytest

import deepspark
import deepspark.io

from conftest import ZOO

WEIGHTS = os.path.join(ZOO, "trained", "lenet_iter_1000.caffemodel")
FIRST100 = os.path.join(ZOO, "trained", "mnist_test_first100_lmdb")
TRAIN_TEST = os.path.join(ZOO, "bvlc", "examples", "mnist", "lenet_train_test.prototxt")


@pytest.fixture
def lenet_proto(tmp_path):
    text = open(TRAIN_TEST).read()
    text = text.replace("examples/mnist/mnist_test_lmdb", FIRST100)
    text = text.replace("examples/mnist/mnist_train_lmdb", FIRST100)
    p = tmp_path / "lenet.prototxt"
    p.write_text(text)
    return str(p)


def test_forward_matches_cpp(lenet_proto):
    net = deepspark.Net(lenet_proto, deepspark.TEST, weights=WEIGHTS)
    out = net.forward()
    assert set(out) == {"accuracy", "loss"}
    assert float(out["accuracy"]) == pytest.approx(1.0)
    assert float(out["loss"]) == pytest.approx(0.0202191, rel=1e-4)
    # pycaffe's argument order works too
    net2 = deepspark.Net(lenet_proto, WEIGHTS, deepspark.TEST)
    assert float(net2.forward()["loss"]) == pytest.approx(0.0202191, rel=1e-4)


def test_blobs_share_memory(lenet_proto):
    net = deepspark.Net(lenet_proto, deepspark.TEST, weights=WEIGHTS)
    assert list(net.blobs["data"].data.shape) == [100, 1, 28, 28]
    net.forward()
    data = net.blobs["data"].data
    assert data.max() > 0
    # forward from conv1 on the blob we write: zeros make every image the same
    data[...] = 0
    out = net.forward(start="conv1")
    assert net.blobs["data"].data.max() == 0
    probs = net.blobs["ip2"].data
    assert np.allclose(probs, probs[0:1])
    assert float(out["accuracy"]) < 0.5
    # params view the weights: zeroing ip2 gives uniform scores
    w = net.params["ip2"][0].data
    assert w.shape == (10, 500)
    net.params["ip2"][0].data[...] = 0
    net.params["ip2"][1].data[...] = 0
    out = net.forward(start="conv1")
    assert float(out["loss"]) == pytest.approx(np.log(10), rel=1e-5)
    assert len(net.params["conv1"]) == 2


def test_backward_and_save(lenet_proto, tmp_path):
    net = deepspark.Net(lenet_proto, deepspark.TRAIN, weights=WEIGHTS)
    net.forward()
    net.backward()
    assert np.abs(net.params["conv1"][0].diff).sum() > 0
    path = str(tmp_path / "copy.caffemodel")
    net.save(path)
    net2 = deepspark.Net(lenet_proto, deepspark.TEST, weights=path)
    assert float(net2.forward()["loss"]) == pytest.approx(0.0202191, rel=1e-4)


def test_solver_steps(lenet_proto, tmp_path):
    solver_text = ('net: "%s"\ntest_iter: 1\ntest_interval: 1000\nbase_lr: 0.01\nmomentum: 0.9\n'
                   'lr_policy: "fixed"\nmax_iter: 20\nsnapshot_prefix: "%s/lenet"\n'
                   'random_seed: 1\nsnapshot_after_train: false\n'
                   % (lenet_proto, tmp_path))
    p = tmp_path / "solver.prototxt"
    p.write_text(solver_text)
    solver = deepspark.get_solver(str(p))
    assert solver.iter == 0
    assert len(solver.test_nets) == 1
    before = solver.net.params["ip2"][0].data.copy()
    calls = []
    solver.add_callback(lambda: calls.append("start"), lambda: calls.append("gradients"))
    solver.step(5)
    assert solver.iter == 5
    assert calls == ["start", "gradients"] * 5
    assert solver.param.base_lr == pytest.approx(0.01) and solver.param.max_iter == 20
    # apply_update: one update from the diffs there now, the iteration kept.
    for blob in solver.net.params["ip2"]:
        blob.diff[...] = 1.0
    w = solver.net.params["ip2"][0].data.copy()
    solver.apply_update()
    assert solver.iter == 5 and not np.allclose(solver.net.params["ip2"][0].data, w)
    other = deepspark.Net(lenet_proto, deepspark.TEST)
    solver.share_weights(other)
    assert np.array_equal(other.params["ip2"][0].data, solver.net.params["ip2"][0].data)
    assert not np.allclose(before, solver.net.params["ip2"][0].data)
    # test nets share the train net's weights
    assert np.allclose(solver.test_nets[0].params["ip2"][0].data, solver.net.params["ip2"][0].data)
    solver.solve()
    assert solver.iter == 20
    s2 = deepspark.SGDSolver(str(p))
    assert s2.type == "SGD"


def test_io_roundtrips(tmp_path):
    img = (np.arange(2 * 3 * 4) % 256).astype(np.uint8).reshape(2, 3, 4)
    # pycaffe's: messages of caffe_pb2 out, messages (or their bytes) in.
    datum = deepspark.io.array_to_datum(img, 7)
    assert datum.label == 7 and (datum.channels, datum.height, datum.width) == (2, 3, 4)
    arr = deepspark.io.datum_to_array(datum)
    assert arr.dtype == np.uint8 and np.array_equal(arr, img)
    assert np.array_equal(deepspark.io.datum_to_array(datum.SerializeToString()), img)
    f = np.random.rand(1, 2, 2).astype(np.float32)
    datum = deepspark.io.array_to_datum(f)
    assert not datum.HasField("label") and len(datum.float_data) == 4
    assert np.allclose(deepspark.io.datum_to_array(datum), f)
    with pytest.raises(ValueError, match="Incorrect array shape."):
        deepspark.io.array_to_datum(np.zeros((2, 2)))
    b = np.random.rand(2, 3, 5).astype(np.float32)
    assert np.allclose(deepspark.io.blobproto_to_array(deepspark.io.array_to_blobproto(b)), b)
    db = str(tmp_path / "db")
    assert deepspark.io.write_lmdb(db, [(img, i) for i in range(5)]) == 5
    items = deepspark.io.read_lmdb(db)
    assert [l for _, l in items] == list(range(5))
    assert np.array_equal(items[3][0], img)
    first = deepspark.io.read_lmdb(FIRST100, limit=2)
    assert first[0][0].shape == (1, 28, 28) and first[0][1] == 7


def test_errors_raise(tmp_path, lenet_proto):
    # pycaffe's: a file that cannot be opened is an IOError naming it.
    with pytest.raises(IOError, match="Could not open file .*missing.prototxt"):
        deepspark.Net(str(tmp_path / "missing.prototxt"), deepspark.TEST)
    with pytest.raises(IOError, match="Could not open file .*missing.caffemodel"):
        deepspark.Net(lenet_proto, deepspark.TEST, weights=str(tmp_path / "missing.caffemodel"))
    (tmp_path / "bad.prototxt").write_text("layer { nme: 1 }")
    with pytest.raises(deepspark.DeepSparkError):
        deepspark.Net(str(tmp_path / "bad.prototxt"), deepspark.TEST)
    with pytest.raises(TypeError, match="unexpected keyword argument 'phse'"):
        deepspark.Net(lenet_proto, phse=deepspark.TEST)


def test_forward_and_backward_check_their_arguments(tmp_path):
    """pycaffe's checks: every input named, each a whole batch."""
    (tmp_path / "net.prototxt").write_text(
        'input: "data" input_shape { dim: 4 dim: 3 }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        'inner_product_param { num_output: 2 } }')
    net = deepspark.Net(str(tmp_path / "net.prototxt"), deepspark.TEST)
    with pytest.raises(Exception, match="Input is not batch sized"):
        net.forward(data=np.zeros((1, 3)))
    with pytest.raises(Exception, match="Input blob arguments do not match net inputs."):
        net.forward(image=np.zeros((4, 3)))
    assert net.forward(data=np.ones((4, 3)))["ip"].shape == (4, 2)
    with pytest.raises(Exception, match="Top diff arguments do not match net outputs."):
        net.backward(data=np.zeros((4, 3)))
    with pytest.raises(Exception, match="Diff is not batch sized"):
        net.backward(ip=np.zeros((3, 2)))
    assert net.backward(ip=np.ones((4, 2)))["data"].shape == (4, 3)
    layer = net.layer_dict["ip"]
    assert layer.type == "InnerProduct" and layer.blobs[0].data.shape == (2, 3)


def test_stages_and_level_select_layers(tmp_path):
    (tmp_path / "net.prototxt").write_text(
        'input: "data" input_shape { dim: 1 dim: 3 }\n'
        'layer { name: "a" type: "ReLU" bottom: "data" top: "a" include { stage: "deploy" } }\n'
        'layer { name: "b" type: "TanH" bottom: "data" top: "b" include { min_level: 2 } }\n'
        'layer { name: "c" type: "Sigmoid" bottom: "data" top: "c" exclude { stage: "deploy" } }')
    path = str(tmp_path / "net.prototxt")

    def chosen(**kw):  # (Split layers Caffe inserts are left out)
        return [n for n in deepspark.Net(path, deepspark.TEST, **kw)._layer_names if len(n) == 1]
    assert chosen() == ["c"]
    assert chosen(stages=["deploy"]) == ["a"]
    assert chosen(level=2) == ["b", "c"]


def test_forward_to_layer(lenet_proto):
    net = deepspark.Net(lenet_proto, deepspark.TEST, weights=WEIGHTS)
    out = net.forward(end="ip1")
    assert set(out) == {"ip1"} and out["ip1"].shape == (100, 500)
    out = net.forward(start="relu1", blobs=["ip1"])
    assert set(out) == {"accuracy", "loss", "ip1"}
    assert float(out["accuracy"]) == pytest.approx(1.0)


def test_pycaffe_module_functions_and_net_views(lenet_proto):
    """What pycaffe scripts call besides Net and Solver (issue 14, first part)."""
    import warnings
    assert deepspark.__version__
    deepspark.set_mode_cpu()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deepspark.set_mode_gpu()
    assert "CPU" in str(caught[0].message)
    deepspark.set_device(0)
    types = deepspark.layer_type_list()
    assert {"Convolution", "InnerProduct", "SoftmaxWithLoss", "Data"} <= set(types)
    level = deepspark._deepspark.log_level()
    deepspark.init_log(2)
    assert deepspark._deepspark.log_level() == 2
    deepspark.init_log(level)

    net = deepspark.Net(lenet_proto, deepspark.TEST, weights=WEIGHTS)
    # As in pycaffe, the split layers Caffe inserts are layers too.
    by_name = dict(zip(net._layer_names, net.layers))
    assert by_name["mnist"].type == "Data" and by_name["conv1"].type == "Convolution"
    assert "Split" in [l.type for l in net.layers]
    conv1 = by_name["conv1"]
    assert [b.data.shape for b in conv1.blobs] == [(20, 1, 5, 5), (20,)]
    assert net.top_names["conv1"] == ["conv1"] and net.bottom_names["conv1"] == ["data"]
    assert net.bottom_names["loss"] == ["ip2_ip2_0_split_1", "label_mnist_1_split_1"]
    assert net.blob_loss_weights["loss"] == 1.0 and net.blob_loss_weights["ip2"] == 0.0
    data = net.blobs["data"]
    assert (data.num, data.channels, data.height, data.width) == (100, 1, 28, 28)
    ip2 = net.blobs["ip2"]
    assert (ip2.num, ip2.channels, ip2.height, ip2.width) == (100, 10, 1, 1)

    # The same seed gives the same filled weights.
    def filled():
        deepspark.set_random_seed(1701)
        return deepspark.Net(lenet_proto, deepspark.TRAIN).params["conv1"][0].data.copy()
    np.testing.assert_array_equal(filled(), filled())


def test_set_input_arrays_feeds_a_memory_data_layer(tmp_path):
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "data" type: "MemoryData" top: "data" top: "label" '
        'memory_data_param { batch_size: 2 channels: 1 height: 2 width: 3 } }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        'inner_product_param { num_output: 2 } }')
    net = deepspark.Net(str(tmp_path / "net.prototxt"), deepspark.TEST)
    data = np.arange(4 * 6, dtype=np.float32).reshape(4, 1, 2, 3)
    labels = np.array([5, 6, 7, 8], dtype=np.float32)
    net.set_input_arrays(data, labels)
    for batch in range(2):
        net.forward()
        assert np.array_equal(net.blobs["data"].data, data[2 * batch:2 * batch + 2])
        assert net.blobs["label"].data.tolist() == labels[2 * batch:2 * batch + 2].tolist()
    with pytest.raises(deepspark.DeepSparkError, match="multiple of batch size"):
        net.set_input_arrays(data[:3], labels[:3])
    with pytest.raises(deepspark.DeepSparkError, match="must be float32"):
        net.set_input_arrays(data.astype(np.float64), labels)
    with pytest.raises(deepspark.DeepSparkError, match="wrong number of channels"):
        net.set_input_arrays(np.zeros((4, 2, 2, 3), np.float32), labels)
    with pytest.raises(deepspark.DeepSparkError, match="same first dimension"):
        net.set_input_arrays(data, labels[:2])
    other = deepspark.Net(_input_net(tmp_path), deepspark.TEST)
    with pytest.raises(deepspark.DeepSparkError, match="first layer is a MemoryDataLayer"):
        other.set_input_arrays(data, labels)


def _input_net(tmp_path):
    (tmp_path / "input.prototxt").write_text(
        'input: "data" input_shape { dim: 2 dim: 1 dim: 2 dim: 3 }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        'inner_product_param { num_output: 2 } }')
    return str(tmp_path / "input.prototxt")
