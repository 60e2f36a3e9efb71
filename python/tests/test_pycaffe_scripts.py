"""pycaffe scripts run unchanged but for their import lines: each script in
examples/pycaffe/ is run as a program, as a Caffe user would run theirs,
and its printed results are checked."""
import glob
import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import deepspark as caffe
from conftest import MNIST, REPO, ZOO

SCRIPTS = os.path.join(REPO, "examples", "pycaffe")
LENET = os.path.join(ZOO, "lenet-trained", "lenet.prototxt")
LENET_WEIGHTS = os.path.join(ZOO, "lenet-trained", "lenet_iter_10000.caffemodel")


def _idx(name):
    with gzip.open(os.path.join(MNIST, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


@pytest.fixture(scope="module")
def digits():
    return _idx("t10k-images-idx3-ubyte.gz"), _idx("t10k-labels-idx1-ubyte.gz")


def _run(script, *args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SCRIPTS] + [p for p in sys.path if p])
    run = subprocess.run([sys.executable, os.path.join(SCRIPTS, script)] + [str(a) for a in args],
                         cwd=str(cwd), env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return run.stdout


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return float(match.group(1))


def test_scripts_differ_from_pycaffe_only_in_the_first_import():
    """`import deepspark as caffe` is the one line that names DeepSpark: the
    rest are pycaffe's own (`from caffe import layers as L, params as P`,
    `from caffe.proto import caffe_pb2`, `import caffe.draw`), which the
    package answers after that line where no real pycaffe is installed."""
    scripts = sorted(glob.glob(os.path.join(SCRIPTS, "*.py")))
    assert len(scripts) == 6
    for path in scripts:
        lines = open(path).read().splitlines()
        assert "import deepspark as caffe" in lines, path
        others = [line for line in lines if "deepspark" in line.replace(
            "import deepspark as caffe", "")]
        assert others == [], (path, others)


def test_caffe_names_answer_after_import_deepspark_as_caffe(tmp_path):
    script = tmp_path / "imports.py"
    script.write_text("import deepspark as caffe\n"
                      "from caffe import layers as L, params as P\n"
                      "from caffe.proto import caffe_pb2\n"
                      "import caffe.io\n"
                      "import deepspark.proto.caffe_pb2 as same\n"
                      "assert caffe_pb2 is same and L is caffe.layers\n"
                      "print('same modules')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "same modules" in run.stdout, run.stderr[-2000:]
    # A real pycaffe on the path keeps its name: DeepSpark does not shadow it.
    (tmp_path / "caffe").mkdir()
    (tmp_path / "caffe" / "__init__.py").write_text("REAL = True\n")
    script.write_text("import deepspark\nimport caffe\nprint('real', caffe.REAL)\n")
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "real True" in run.stdout, run.stderr[-2000:]


def test_classify_with_classifier_and_transformer(tmp_path, digits):
    from PIL import Image
    images, labels = digits
    with open(tmp_path / "list.txt", "w") as f:
        for i in range(200):
            Image.fromarray(images[i]).save(tmp_path / ("%03d.png" % i))
            f.write("%03d.png %d\n" % (i, labels[i]))
    out = _run("classify.py", LENET, LENET_WEIGHTS, tmp_path / "list.txt", "--gray",
               cwd=tmp_path)
    assert _number(r"accuracy ([\d.]+) on 200 images", out) >= 0.98
    assert _number(r"max \|by hand - Classifier\| = (\S+)", out) < 1e-5
    # The script's first prediction is the trained net's own answer.
    net = caffe.Net(LENET, LENET_WEIGHTS, caffe.TEST)
    net.blobs["data"].reshape(1, 1, 28, 28)
    net.blobs["data"].data[...] = images[0] / 256.0  # load_image's /255, x 255, x 1/256
    assert "first image: class %d" % net.forward()["prob"][0].argmax() in out


def test_net_surgery_copies_params_into_a_convolutional_net(tmp_path, digits):
    images, labels = digits
    np.save(tmp_path / "digits.npy", images[:4].astype(np.float32) / 255.0)
    out = _run("net_surgery.py", LENET, LENET_WEIGHTS, tmp_path / "digits.npy", tmp_path,
               cwd=tmp_path)
    assert "ip1 weights are (500, 800) dimensional" in out
    assert "ip1-conv weights are (500, 50, 4, 4) dimensional" in out
    assert "score map shape (10, 8, 8)" in out
    assert _number(r"max difference (\S+)", out) < 1e-5
    said = re.search(r"classifier says (\[.*?\]) ; full-conv at the digits says (\[.*?\])", out)
    assert said and said.group(1) == said.group(2) == str(labels[:4].tolist())
    assert "reloaded surgery equal: True" in out


def _lmdb(path, images, labels):
    caffe.io.write_lmdb(str(path), ((img[None], int(lab)) for img, lab in zip(images, labels)))
    return path


def test_netspec_learning_lenet(tmp_path, digits):
    images, labels = digits
    train = _lmdb(tmp_path / "train_lmdb", images[:6000], labels[:6000])
    test = _lmdb(tmp_path / "test_lmdb", images[9000:], labels[9000:])
    out = _run("learn_lenet.py", train, test, tmp_path, 200, cwd=tmp_path)
    assert "('data', (64, 1, 28, 28))" in out and "('conv1', (20, 1, 5, 5))" in out
    assert _number(r"last loss ([\d.]+)", out) < 0.5 * _number(r"first loss ([\d.]+)", out)
    assert _number(r"test accuracy ([\d.]+)", out) >= 0.9
    text = open(tmp_path / "lenet_auto_train.prototxt").read()
    assert 'source: "%s"' % train in text and "scale: 0.003921" in text


def test_python_data_layer_feeds_lenet(tmp_path):
    out = _run("train_python_data.py", MNIST, tmp_path, 300, cwd=tmp_path)
    assert "data layer: MnistDataLayer (64, 1, 28, 28)" in out
    assert _number(r"test accuracy ([\d.]+)", out) >= 0.9


def test_draw_net_to_a_file(tmp_path):
    png = tmp_path / "lenet.png"
    out = _run("draw_net.py", os.path.join(ZOO, "bvlc", "examples", "mnist",
                                           "lenet_train_test.prototxt"), png,
               "--rankdir", "TB", "--phase", "TEST", cwd=tmp_path)
    assert "Drawing net to" in out
    data = open(png, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
