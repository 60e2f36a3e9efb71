"""pycaffe's Python-side API (caffe.io's Transformer and image helpers,
Classifier, Detector, caffe.proto.caffe_pb2, NetSpec) with `import deepspark
as caffe`, against pycaffe's documented behaviour and the engine itself."""
import os
import struct
import sys
import zlib

import numpy as np
import pytest

import deepspark as caffe
from deepspark import layers as L, params as P, to_proto

from conftest import REPO, ZOO

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEPLOY = os.path.join(ZOO, "lenet-trained", "lenet.prototxt")  # Input 64x1x28x28 -> prob
WEIGHTS = os.path.join(ZOO, "lenet-trained", "lenet_iter_10000.caffemodel")
FIRST100 = os.path.join(ZOO, "trained", "mnist_test_first100_lmdb")
CAFFENET = os.path.join(ZOO, "bvlc", "models", "bvlc_reference_caffenet", "deploy.prototxt")


@pytest.fixture(scope="module")
def digits():
    """The first 100 MNIST test digits: (images (100, 28, 28, 1) in [0, 1], labels)."""
    items = caffe.io.read_lmdb(FIRST100)
    images = np.stack([a.transpose(1, 2, 0) for a, _ in items]).astype(np.float32) / 255
    return images, np.array([label for _, label in items])


def write_png(path, pixels):
    """A minimal 8-bit PNG (grey for (H, W), RGB for (H, W, 3))."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\0" + pixels[y].tobytes() for y in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(rows)))
        f.write(chunk(b"IEND", b""))


# ---- caffe.io.Transformer ----

def make_transformer():
    t = caffe.io.Transformer({"data": (10, 3, 8, 6)})
    t.set_transpose("data", (2, 0, 1))
    t.set_channel_swap("data", (2, 1, 0))
    t.set_raw_scale("data", 255)
    t.set_mean("data", np.array([104.0, 117.0, 123.0]))
    t.set_input_scale("data", 0.5)
    return t


def test_transformer_preprocess_and_deprocess_round_trip():
    t = make_transformer()
    rng = np.random.RandomState(0)
    image = rng.rand(8, 6, 3).astype(np.float32)
    kept = image.copy()
    out = t.preprocess("data", image)
    assert out.shape == (3, 8, 6) and out.dtype == np.float32
    bgr = image.transpose(2, 0, 1)[::-1]
    want = (bgr * 255 - np.array([104, 117, 123])[:, None, None]) * 0.5
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    assert np.array_equal(image, kept)  # the caller's array is left alone
    back = t.deprocess("data", out[np.newaxis])  # a batch of one squeezes
    assert back.shape == (8, 6, 3)
    np.testing.assert_allclose(back, image, atol=1e-5)


def test_transformer_resizes_to_the_input():
    t = make_transformer()
    image = np.random.RandomState(1).rand(16, 12, 3)
    out = t.preprocess("data", image)
    assert out.shape == (3, 8, 6)
    # the same as resizing first
    np.testing.assert_allclose(out, t.preprocess("data", caffe.io.resize_image(image, (8, 6))),
                               atol=1e-4)


def test_transformer_elementwise_means():
    t = caffe.io.Transformer({"data": (1, 1, 4, 4)})
    t.set_mean("data", np.full((4, 4), 2.0))  # (H, W) for one channel
    assert t.mean["data"].shape == (4, 4)
    t.set_transpose("data", (2, 0, 1))
    out = t.preprocess("data", np.full((4, 4, 1), 5.0))
    assert np.allclose(out, 3.0)


@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.preprocess("nope", np.zeros((8, 6, 3))), Exception,
     "nope is not one of the net inputs: {'data': (10, 3, 8, 6)}"),
    (lambda t: t.set_transpose("data", (1, 0)), Exception,
     "Transpose order needs to have the same number of dimensions as the input."),
    (lambda t: t.set_channel_swap("data", (1, 0)), Exception,
     "Channel swap needs to have the same number of dimensions as the input channels."),
    (lambda t: t.set_mean("data", np.zeros(4)), ValueError,
     "Mean channels incompatible with input."),
    (lambda t: t.set_mean("data", np.zeros((1, 3, 8, 6))), ValueError, "Mean shape invalid"),
    (lambda t: t.set_mean("data", np.zeros((3, 4, 4))), ValueError,
     "Mean shape incompatible with input shape."),
    (lambda t: t.set_raw_scale("label", 255), Exception, "label is not one of the net inputs"),
])
def test_transformer_errors_are_pycaffes(call, error, message):
    t = caffe.io.Transformer({"data": (10, 3, 8, 6)})
    with pytest.raises(error) as info:
        call(t)
    assert str(info.value).startswith(message)


# ---- load_image, resize_image, oversample ----

def test_load_image_colour_and_grey(tmp_path):
    rgb = np.random.RandomState(2).randint(0, 256, (5, 7, 3)).astype(np.uint8)
    path = str(tmp_path / "rgb.png")
    write_png(path, rgb)
    img = caffe.io.load_image(path)
    assert img.shape == (5, 7, 3) and img.dtype == np.float32
    np.testing.assert_allclose(img, rgb / 255.0, atol=1e-6)  # RGB, not OpenCV's BGR
    grey = caffe.io.load_image(path, color=False)  # skimage's rgb2gray weights
    assert grey.shape == (5, 7, 1)
    np.testing.assert_allclose(grey[:, :, 0], (rgb / 255.0) @ [0.2125, 0.7154, 0.0721],
                               atol=1e-6)
    gpath = str(tmp_path / "grey.png")
    g = np.arange(35, dtype=np.uint8).reshape(5, 7) * 7
    write_png(gpath, g)
    assert caffe.io.load_image(gpath, color=False).shape == (5, 7, 1)
    tiled = caffe.io.load_image(gpath)
    assert tiled.shape == (5, 7, 3)
    for c in range(3):
        np.testing.assert_allclose(tiled[:, :, c], g / 255.0, atol=1e-6)
    with pytest.raises(IOError):
        caffe.io.load_image(str(tmp_path / "missing.png"))


def test_resize_image():
    # 1 or 3 channels: pixel centres aligned, outside the image blends
    # towards its minimum (skimage's mode='constant' on the [0, 1] stretch)
    row = np.array([[[2.0], [4.0]]])
    out = caffe.io.resize_image(row, (1, 4))
    assert out.dtype == np.float32 and out.shape == (1, 4, 1)
    np.testing.assert_allclose(out[0, :, 0], [2.0, 2.5, 3.5, 3.5])
    image = np.random.RandomState(3).rand(6, 5, 3)
    np.testing.assert_allclose(caffe.io.resize_image(image, (6, 5)), image, atol=1e-6)
    assert caffe.io.resize_image(image, (13, 2)).shape == (13, 2, 3)
    # other channel counts: corners aligned (scipy's zoom)
    four = np.array([0.0, 3.0])[None, :, None] * np.ones((1, 1, 4))
    np.testing.assert_allclose(caffe.io.resize_image(four, (1, 4))[0, :, 0], [0, 1, 2, 3],
                               atol=1e-6)
    # a constant image stays constant
    flat = caffe.io.resize_image(np.full((3, 3, 3), 0.25), (5, 4))
    assert flat.shape == (5, 4, 3) and np.all(flat == np.float32(0.25))
    nearest = caffe.io.resize_image(np.arange(4.0).reshape(2, 2, 1), (4, 4), interp_order=0)
    assert set(np.unique(nearest)) <= {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(ValueError):
        caffe.io.resize_image(image, (3, 3), interp_order=3)


def test_oversample_crops():
    images = np.random.RandomState(4).rand(2, 10, 12, 3).astype(np.float32)
    crops = caffe.io.oversample(images, (6, 8))
    assert crops.shape == (20, 6, 8, 3) and crops.dtype == np.float32
    for n in range(2):
        im, c = images[n], crops[10 * n:10 * n + 10]
        assert np.array_equal(c[0], im[:6, :8])
        assert np.array_equal(c[1], im[:6, 4:])
        assert np.array_equal(c[2], im[4:, :8])
        assert np.array_equal(c[3], im[4:, 4:])
        assert np.array_equal(c[4], im[2:8, 2:10])
        for k in range(5):
            assert np.array_equal(c[5 + k], c[k][:, ::-1])


# ---- Net.forward_all, Classifier, Detector ----

def manual_probs(batch):
    """prob for (N, 1, 28, 28) inputs by plain forward passes of 64."""
    net = caffe.Net(DEPLOY, caffe.TEST, weights=WEIGHTS)
    out = []
    for i in range(0, len(batch), 64):
        chunk = batch[i:i + 64]
        data = np.zeros((64, 1, 28, 28), np.float32)
        data[:len(chunk)] = chunk
        out.append(net.forward(data=data)["prob"][:len(chunk)].copy())
    return np.concatenate(out)


def test_forward_all_batches_and_pads(digits):
    images, labels = digits
    net = caffe.Net(DEPLOY, WEIGHTS, caffe.TEST)
    batch = images.transpose(0, 3, 1, 2)
    out = net.forward_all(blobs=["ip1"], data=batch)  # 100 items: one full batch, one padded
    assert set(out) == {"prob", "ip1"}
    assert out["prob"].shape == (100, 10) and out["ip1"].shape == (100, 500)
    np.testing.assert_allclose(out["prob"], manual_probs(batch), atol=1e-6)
    assert (out["prob"].argmax(1) == labels).mean() >= 0.98


def test_forward_backward_all_and_clear_param_diffs(tmp_path):
    path = tmp_path / "ip.prototxt"
    path.write_text('force_backward: true input: "x" input_shape { dim: 4 dim: 3 }\n'
                    'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"\n'
                    '  inner_product_param { num_output: 2 weight_filler { type: "gaussian" }\n'
                    '    bias_filler { type: "constant" value: 0.5 } } }\n')
    net = caffe.Net(str(path), caffe.TRAIN)
    w, b = (p.data.copy() for p in net.params["ip"])
    x = np.random.RandomState(5).rand(6, 3).astype(np.float32)  # 6 items: 4 + 2 padded
    dy = np.random.RandomState(6).rand(6, 2).astype(np.float32)
    blobs, diffs = net.forward_backward_all(x=x, y=dy)
    assert blobs["y"].shape == (6, 2) and diffs["x"].shape == (6, 3)
    np.testing.assert_allclose(blobs["y"], x @ w.T + b, atol=1e-5)
    np.testing.assert_allclose(diffs["x"], dy @ w, atol=1e-5)
    assert np.abs(net.params["ip"][0].diff).sum() > 0
    net.clear_param_diffs()
    assert not net.params["ip"][0].diff.any() and not net.params["ip"][1].diff.any()
    assert net.forward_all(x=x[:3])["y"].shape == (3, 2)


def test_classifier_center_crop_matches_forward(digits):
    images, labels = digits
    net = caffe.Classifier(DEPLOY, WEIGHTS, image_dims=(28, 28))
    assert list(net.crop_dims) == [28, 28]
    pred = net.predict(images[:70], oversample=False)
    assert pred.shape == (70, 10)
    np.testing.assert_allclose(pred, manual_probs(images[:70].transpose(0, 3, 1, 2)), atol=1e-6)
    assert (pred.argmax(1) == labels[:70]).mean() >= 0.98


def test_classifier_oversample_averages_ten_crops(digits):
    images, labels = digits
    net = caffe.Classifier(DEPLOY, WEIGHTS, image_dims=(32, 32), raw_scale=255,
                           input_scale=1.0 / 255, mean=np.zeros(1))
    pred = net.predict(list(images[:8]))  # oversample=True: 80 crops
    assert pred.shape == (8, 10)
    np.testing.assert_allclose(pred.sum(1), 1.0, atol=1e-5)
    scaled = np.stack([caffe.io.resize_image(im, (32, 32)) for im in images[:8]])
    crops = caffe.io.oversample(scaled, (28, 28))
    want = manual_probs(crops.transpose(0, 3, 1, 2)).reshape(8, 10, 10).mean(1)
    np.testing.assert_allclose(pred, want, atol=1e-5)
    assert (pred.argmax(1) == labels[:8]).mean() >= 0.75


@pytest.fixture
def rgb_deploy(tmp_path):
    """LeNet's deploy net taking RGB images (load_image's), averaged to grey
    by a 1x1 convolution "gray" (weights set after loading)."""
    with open(DEPLOY) as f:
        text = f.read()
    assert text.count('bottom: "data"') == 1 and "dim: 64 dim: 1 dim: 28" in text
    text = text.replace("dim: 64 dim: 1 dim: 28", "dim: 64 dim: 3 dim: 28")
    text = text.replace('bottom: "data"', 'bottom: "gray"')
    conv1 = text.index('layer {\n  name: "conv1"')
    text = (text[:conv1] + 'layer { name: "gray" type: "Convolution" bottom: "data" top: "gray"\n'
            '  convolution_param { num_output: 1 kernel_size: 1 bias_term: false } }\n'
            + text[conv1:])
    path = tmp_path / "rgb_deploy.prototxt"
    path.write_text(text)
    return str(path)


def test_detector_windows(tmp_path, digits, rgb_deploy):
    images, labels = digits
    # two digits side by side on a 28 x 60 canvas
    canvas = np.zeros((28, 60), np.uint8)
    canvas[:, 2:30] = np.round(images[0, :, :, 0] * 255)
    canvas[:, 31:59] = np.round(images[1, :, :, 0] * 255)
    path = str(tmp_path / "two.png")
    write_png(path, canvas)
    det = caffe.Detector(rgb_deploy, WEIGHTS)
    det.params["gray"][0].data[...] = 1.0 / 3
    windows = [np.array([0, 2, 28, 30]), np.array([0, 31, 28, 59])]
    found = det.detect_windows(zip([path], [windows]))  # an iterator, as pycaffe's callers pass
    assert [d["filename"] for d in found] == [path, path]
    assert all(np.array_equal(d["window"], w) for d, w in zip(found, windows))
    got = np.array([d["prediction"] for d in found])
    np.testing.assert_allclose(got, manual_probs(images[:2].transpose(0, 3, 1, 2)), atol=1e-5)
    assert list(got.argmax(1)) == list(labels[:2])
    # context padding: the crop is the input's size, padded with the mean
    # (given in the net's space: BGR, after raw_scale; the crop is in the image's)
    padded = caffe.Detector(rgb_deploy, WEIGHTS, mean=np.array([30.0, 60.0, 90.0]),
                            raw_scale=255, channel_swap=(2, 1, 0), context_pad=4)
    assert list(padded.crop_dims) == [28, 28, 3]
    np.testing.assert_allclose(padded.crop_mean.reshape(3), [90 / 255., 60 / 255., 30 / 255.])
    crop = padded.crop(caffe.io.load_image(path), np.array([0, 2, 27, 29]))
    assert crop.shape == (28, 28, 3)
    np.testing.assert_allclose(crop[0, 5], [90 / 255., 60 / 255., 30 / 255.])  # above the image
    assert crop[4:24, 4:24].max() > 0.2  # the digit, scaled to leave room for the context


# ---- caffe.proto.caffe_pb2 ----

def test_caffe_pb2_reads_zoo_prototxt_and_engine_bytes():
    # protobuf is a dependency (scripts/install-deps.sh): its absence fails here
    from google.protobuf import text_format
    from deepspark.proto import caffe_pb2
    assert caffe.proto.caffe_pb2 is caffe_pb2
    with open(CAFFENET) as f:
        net = text_format.Parse(f.read(), caffe_pb2.NetParameter())
    assert net.name == "CaffeNet"
    assert [layer.name for layer in net.layer][:3] == ["data", "conv1", "relu1"]
    assert net.layer[1].convolution_param.num_output == 96
    assert net.layer[4].pooling_param.pool == caffe_pb2.PoolingParameter.MAX
    # bytes written by the C++ engine parse as Caffe's messages
    datum = caffe_pb2.Datum.FromString(caffe.io.array_to_datum(
        np.arange(12, dtype=np.uint8).reshape(3, 2, 2), label=7).SerializeToString())
    assert (datum.channels, datum.height, datum.width, datum.label) == (3, 2, 2, 7)
    assert datum.data == bytes(range(12))
    blob = caffe.io.array_to_blobproto(np.ones((2, 3)))
    assert isinstance(blob, caffe_pb2.BlobProto)
    assert list(blob.shape.dim) == [2, 3] and list(blob.data) == [1.0] * 6


# ---- NetSpec ----

# The LeNet of Caffe's examples/01-learning-lenet.ipynb, as written there: the
# function of examples/pycaffe/learn_lenet.py (that script's own test runs it).
sys.path.insert(0, os.path.join(REPO, "examples", "pycaffe"))
from learn_lenet import lenet  # noqa: E402


def conv_relu(bottom, ks, nout, stride=1, pad=0, group=1):
    conv = L.Convolution(bottom, kernel_size=ks, stride=stride, num_output=nout, pad=pad,
                         group=group)
    return conv, L.ReLU(conv, in_place=True)


def fc_relu(bottom, nout):
    fc = L.InnerProduct(bottom, num_output=nout)
    return fc, L.ReLU(fc, in_place=True)


def max_pool(bottom, ks, stride=1):
    return L.Pooling(bottom, pool=P.Pooling.MAX, kernel_size=ks, stride=stride)


def caffenet(lmdb, batch_size=256, include_acc=False):
    """Caffe's examples/pycaffe/caffenet.py, as written there."""
    data, label = L.Data(source=lmdb, backend=P.Data.LMDB, batch_size=batch_size, ntop=2,
                         transform_param=dict(crop_size=227, mean_value=[104, 117, 123],
                                              mirror=True))
    conv1, relu1 = conv_relu(data, 11, 96, stride=4)
    pool1 = max_pool(relu1, 3, stride=2)
    norm1 = L.LRN(pool1, local_size=5, alpha=1e-4, beta=0.75)
    conv2, relu2 = conv_relu(norm1, 5, 256, pad=2, group=2)
    pool2 = max_pool(relu2, 3, stride=2)
    norm2 = L.LRN(pool2, local_size=5, alpha=1e-4, beta=0.75)
    conv3, relu3 = conv_relu(norm2, 3, 384, pad=1)
    conv4, relu4 = conv_relu(relu3, 3, 384, pad=1, group=2)
    conv5, relu5 = conv_relu(relu4, 3, 256, pad=1, group=2)
    pool5 = max_pool(relu5, 3, stride=2)
    fc6, relu6 = fc_relu(pool5, 4096)
    drop6 = L.Dropout(relu6, in_place=True)
    fc7, relu7 = fc_relu(drop6, 4096)
    drop7 = L.Dropout(relu7, in_place=True)
    fc8 = L.InnerProduct(drop7, num_output=1000)
    loss = L.SoftmaxWithLoss(fc8, label)
    if include_acc:
        acc = L.Accuracy(fc8, label)
        return to_proto(loss, acc)
    return to_proto(loss)


def assert_prototxt(proto, name):
    """The text equals the expected file (as protobuf's C-backed str()
    prints floats; the pure-Python backend prints them otherwise, so there
    the parsed messages are compared)."""
    with open(os.path.join(DATA, name)) as f:
        expected = f.read()
    from google.protobuf import text_format
    from google.protobuf.internal import api_implementation
    if api_implementation.Type() != "python":
        assert str(proto) == expected
    assert text_format.Parse(expected, type(proto)()) == proto


def test_netspec_lenet_text():
    assert_prototxt(lenet("mnist/mnist_train_lmdb", 64), "lenet_auto_train.prototxt")


def test_to_proto_caffenet_text():
    assert_prototxt(caffenet("/path/to/caffe-val-lmdb", batch_size=50, include_acc=True),
                    "caffenet_auto_test.prototxt")
    train = caffenet("/path/to/caffe-train-lmdb")
    assert [layer.name for layer in train.layer][-1] == "SoftmaxWithLoss1"
    assert len(train.layer) == 24


def test_netspec_details():
    n = caffe.NetSpec()
    n.data = L.Input(shape=[dict(dim=[2, 3, 4, 4])])
    n["conv"] = L.Convolution(n.data, num_output=2, kernel_size=3,
                              param=[dict(lr_mult=1), dict(lr_mult=2, decay_mult=0)],
                              include=dict(phase=caffe.TEST))
    n.silence = L.Silence(n.conv, ntop=0)  # a layer without tops, named by assignment
    n.update("conv", dict(bias_term=False))
    assert n.keys() == ["data", "conv", "silence"] and n["conv"] is n.conv
    net = n.to_proto()
    data, conv, silence = net.layer
    assert list(data.input_param.shape[0].dim) == [2, 3, 4, 4]
    assert [p.lr_mult for p in conv.param] == [1, 2] and conv.param[1].decay_mult == 0
    assert conv.include[0].phase == caffe.TEST
    assert conv.convolution_param.bias_term is False
    assert (silence.name, list(silence.bottom), list(silence.top)) == ("silence", ["conv"], [])
    # unnamed tops: named by type and count; Top.to_proto takes what it needs
    a, b = L.Slice(n.data, ntop=2, slice_point=1)
    net = L.Eltwise(L.ReLU(a), L.ReLU(b), loss_weight=1).to_proto()
    assert [(x.name, list(x.top)) for x in net.layer] == [
        ("Input1", ["Input1"]), ("Slice1", ["Slice1", "Slice2"]), ("ReLU1", ["ReLU1"]),
        ("ReLU2", ["ReLU2"]), ("Eltwise1", ["Eltwise1"])]
    assert list(net.layer[-1].loss_weight) == [1.0]
    with pytest.raises(TypeError, match="Convolution input 0 is not a Top"):
        L.Convolution("data")
    assert P.Pooling.AVE == caffe.proto.caffe_pb2.PoolingParameter.AVE
    with pytest.raises(AttributeError):
        L.InnerProduct(n.data, no_such_field=1).to_proto()


def test_netspec_lenet_trains(tmp_path):
    items = caffe.io.read_lmdb(FIRST100)
    db = str(tmp_path / "train_lmdb")
    assert caffe.io.write_lmdb(db, [(a.astype(np.uint8), label) for a, label in items]) == 100
    net_path = tmp_path / "lenet_auto_train.prototxt"
    net_path.write_text(str(lenet(db, 20)))
    net = caffe.Net(str(net_path), caffe.TRAIN)
    assert net.blobs["data"].data.shape == (20, 1, 28, 28)
    assert list(net.params) == ["conv1", "conv2", "fc1", "score"]
    solver_path = tmp_path / "solver.prototxt"
    solver_path.write_text(
        'train_net: "%s"\nbase_lr: 0.01\nmomentum: 0.9\nweight_decay: 0.0005\n'
        'lr_policy: "fixed"\nmax_iter: 100\nrandom_seed: 1\nsnapshot_after_train: false\n'
        'snapshot_prefix: "%s/lenet"\n' % (net_path, tmp_path))
    solver = caffe.SGDSolver(str(solver_path))
    solver.net.forward()
    first = float(solver.net.blobs["loss"].data)
    assert first == pytest.approx(np.log(10), abs=0.5)
    solver.step(40)
    assert solver.iter == 40
    losses = []
    for _ in range(5):  # the next five batches: the whole set, seen twice already
        solver.net.forward()
        losses.append(float(solver.net.blobs["loss"].data))
    assert np.mean(losses) < 0.5 * first


# ---- draw ----

def test_draw_net_to_file(tmp_path):
    """caffe.draw as pycaffe's: LeNet's TEST phase drawn to a PNG and as
    graphviz text, layers coloured and labelled by type."""
    from google.protobuf import text_format
    from deepspark.proto import caffe_pb2
    net = text_format.Parse(open(os.path.join(ZOO, "bvlc", "examples", "mnist",
                                              "lenet_train_test.prototxt")).read(),
                            caffe_pb2.NetParameter())
    png = str(tmp_path / "lenet.png")
    caffe.draw.draw_net_to_file(net, png, "LR", phase=caffe_pb2.TEST)
    data = open(png, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
    raw = str(tmp_path / "lenet.raw")
    caffe.draw.draw_net_to_file(net, raw, "TB", phase=caffe_pb2.TRAIN)
    text = open(raw).read()
    assert "conv1 (Convolution) kernel size: 5 stride: 1 pad: 0" in text
    assert '"#FF5050"' in text and '"#90EE90"' in text  # convolution, in-place ReLU
    assert "accuracy" not in text  # a TEST-only layer
    assert caffe.draw.get_layer_label(net.layer[3], "LR").startswith("pool1\\n(Pooling)")


# ---- HDF5 snapshots ----

def test_save_hdf5_and_load_hdf5_in_caffes_layout(tmp_path):
    """Net.save_hdf5 writes Caffe's layout (read here with h5py, an
    independent reader); a file h5py writes in that layout loads with
    load_hdf5 and with copy_from."""
    h5py = pytest.importorskip("h5py")
    deploy = os.path.join(ZOO, "lenet-trained", "lenet.prototxt")
    weights = os.path.join(ZOO, "lenet-trained", "lenet_iter_10000.caffemodel")
    net = caffe.Net(deploy, caffe.TEST, weights=weights)
    path = str(tmp_path / "lenet.caffemodel.h5")
    net.save_hdf5(path)
    with h5py.File(path, "r") as f:
        assert set(f) == {"data"}
        assert set(f["data"]) == set(net._layer_names)  # every layer has its group
        assert len(f["data"]["pool1"]) == 0
        for name, blobs in net.params.items():
            assert sorted(f["data"][name]) == [str(i) for i in range(len(blobs))]
            for i, blob in enumerate(blobs):
                ds = f["data"][name][str(i)]
                assert ds.dtype == np.float32 and ds.shape == blob.data.shape
                np.testing.assert_array_equal(ds[...], blob.data)
    other = str(tmp_path / "other.caffemodel.h5")
    with h5py.File(other, "w") as f:
        for name, blobs in net.params.items():
            group = f.create_group("data/" + name)
            for i, blob in enumerate(blobs):
                group.create_dataset(str(i), data=blob.data * 0.5 + i)
    loaded = caffe.Net(deploy, caffe.TEST)
    loaded.load_hdf5(other)
    np.testing.assert_allclose(loaded.params["conv1"][0].data, net.params["conv1"][0].data * 0.5)
    np.testing.assert_allclose(loaded.params["ip2"][1].data, net.params["ip2"][1].data * 0.5 + 1)
    again = caffe.Net(deploy, caffe.TEST, weights=other)  # copy_from tells the format itself
    np.testing.assert_array_equal(again.params["ip1"][0].data, loaded.params["ip1"][0].data)
    with pytest.raises(caffe.DeepSparkError, match="not an HDF5 file"):
        loaded.load_hdf5(weights)
    with pytest.raises(IOError):
        loaded.load_hdf5(str(tmp_path / "missing.h5"))


def test_hdf5_solver_snapshot_in_caffes_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "x" type: "DummyData" top: "x" top: "t" dummy_data_param {\n'
        '  shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } data_filler { type: "gaussian" }\n'
        '  data_filler { type: "gaussian" } } }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"\n'
        '  inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }\n'
        'layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }\n')
    (tmp_path / "solver.prototxt").write_text(
        'net: "%s/net.prototxt"\nbase_lr: 0.01\nlr_policy: "fixed"\nmomentum: 0.9\n'
        'max_iter: 5\nsnapshot_format: HDF5\nsnapshot_prefix: "%s/lin"\ntype: "Adam"\n'
        % (tmp_path, tmp_path))
    solver = caffe.get_solver(str(tmp_path / "solver.prototxt"))
    solver.step(5)
    state = solver.snapshot()
    assert state == str(tmp_path / "lin_iter_5.solverstate.h5")
    with h5py.File(state, "r") as f:
        assert int(f["iter"][()]) == 5 and int(f["current_step"][()]) == 0
        assert f["iter"].shape == () and f["iter"].dtype == np.int32
        assert f["learned_net"][()].decode() == str(tmp_path / "lin_iter_5.caffemodel.h5")
        assert sorted(f["history"]) == ["0", "1", "2", "3"]  # Adam: m and v of w and b
        assert f["history"]["0"].shape == (2, 3)
    resumed = caffe.get_solver(str(tmp_path / "solver.prototxt"))
    resumed.restore(state)
    assert resumed.iter == 5
    np.testing.assert_array_equal(resumed.net.params["ip"][0].data,
                                  solver.net.params["ip"][0].data)
