"""The `deepspark` tool's converters against independent references:
convert-imageset on a folder of JPEGs and a list file, compared field by
field with the Datums a plain Python script (Pillow, caffe_pb2) says Caffe's
convert_imageset writes; the upgrade tools on Caffe's legacy files."""
import os
import subprocess

import numpy as np
import pytest

import deepspark
from conftest import ZOO

from deepspark.proto import caffe_pb2  # noqa: E402
from PIL import Image  # noqa: E402 (a test dependency: scripts/install-deps.sh)


def _tool(*args):
    return subprocess.run([deepspark.tool_path()] + [str(a) for a in args], capture_output=True,
                          text=True)


@pytest.fixture
def image_folder(tmp_path):
    """12 JPEGs of 20x16 in two folders (one name with a space) and the list
    file Caffe's tool takes: 'relative/path label' a line."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:16, 0:20]
    lines = []
    for i in range(12):
        folder = "cat" if i % 2 else "dog"
        name = "%s/img %02d.jpg" % (folder, i) if i == 5 else "%s/%02d.jpg" % (folder, i)
        rgb = np.stack([(x * 12 + i * 30) % 256, (y * 15 + i * 7) % 256,
                        ((x + y) * 6 + rng.integers(0, 40, (16, 20))) % 256], -1).astype(np.uint8)
        os.makedirs(tmp_path / "images" / folder, exist_ok=True)
        Image.fromarray(rgb).save(str(tmp_path / "images" / name), quality=90)
        lines.append((name, i % 2))
    (tmp_path / "list.txt").write_text("".join("%s %d\n" % line for line in lines))
    return tmp_path, lines


def _reference(root, lines, encoded):
    """What Caffe's convert_imageset writes, from its source's rules, with
    nothing of DeepSpark: key '%08d_' + path; raw: channels/height/width and
    BGR planes (OpenCV's order); encoded (the file already JPEG): the file's
    bytes, encoded=true, no shape."""
    out = []
    for i, (name, label) in enumerate(lines):
        d = caffe_pb2.Datum()
        d.label = label
        path = os.path.join(root, name)
        if encoded:
            d.data = open(path, "rb").read()
            d.encoded = True
        else:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            d.channels, d.height, d.width = 3, rgb.shape[0], rgb.shape[1]
            d.data = np.ascontiguousarray(rgb[:, :, ::-1].transpose(2, 0, 1)).tobytes()
        out.append(("%08d_%s" % (i, name), d))
    return out


@pytest.mark.parametrize("encoded", [False, True])
def test_convert_imageset_matches_a_reference(image_folder, encoded):
    tmp_path, lines = image_folder
    db = tmp_path / "db"
    flags = ["--encoded"] if encoded else []
    run = _tool("convert-imageset", *flags, str(tmp_path / "images") + "/",
                tmp_path / "list.txt", db)
    assert run.returncode == 0, run.stderr
    assert "Processed 12 of 12 files (100.0%)" in run.stderr
    ours = deepspark._deepspark.read_db(str(db), "lmdb", -1)
    expected = _reference(str(tmp_path / "images"), lines, encoded)
    assert [k.decode() for k, _ in ours] == [k for k, _ in expected]
    for (key, value), (_, want) in zip(ours, expected):
        got = caffe_pb2.Datum.FromString(value)
        for field in ("channels", "height", "width", "label", "encoded", "data"):
            assert getattr(got, field) == getattr(want, field), (key, field)
        assert not got.float_data
    # The Data layer reads it: a net of one Data layer gives the labels in order.
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "data" type: "Data" top: "data" top: "label" '
        'data_param { source: "%s" backend: LMDB batch_size: 12 } }' % db)
    net = deepspark.Net(str(tmp_path / "net.prototxt"), deepspark.TEST)
    out = net.forward()
    assert out["label"].tolist() == [label for _, label in lines]
    assert out["data"].shape == (12, 3, 16, 20)


def test_convert_imageset_errors_leave_nothing(image_folder):
    tmp_path, _ = image_folder
    with open(tmp_path / "list.txt", "a") as f:
        f.write("dog/missing.jpg 0\n")
    run = _tool("convert-imageset", str(tmp_path / "images") + "/", tmp_path / "list.txt",
                tmp_path / "db")
    assert run.returncode != 0
    assert "image 13 of 13" in run.stderr and "missing.jpg" in run.stderr, run.stderr
    assert not os.path.exists(tmp_path / "db") and not os.path.exists(tmp_path / "db.partial")


def test_upgrade_tools(tmp_path):
    legacy_net = os.path.join(ZOO, "legacy-v1-lenet-2014", "lenet_train.prototxt")
    out = tmp_path / "net.prototxt"
    run = _tool("upgrade-net-proto-text", legacy_net, out)
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert "layer {" in text and "layers {" not in text
    upgraded = caffe_pb2.NetParameter()
    from google.protobuf import text_format
    text_format.Merge(text, upgraded)
    assert [l.type for l in upgraded.layer][:3] == ["Data", "Convolution", "Pooling"]
    again = _tool("upgrade-net-proto-text", out, tmp_path / "again.prototxt")
    assert again.returncode == 0 and "already in latest proto format" in again.stderr

    # The binary form: the V1 net as bytes, upgraded to V2 layers.
    legacy = caffe_pb2.NetParameter()
    text_format.Merge(open(legacy_net).read(), legacy)
    assert len(legacy.layers) > 0 and len(legacy.layer) == 0
    (tmp_path / "v1.binaryproto").write_bytes(legacy.SerializeToString())
    run = _tool("upgrade-net-proto-binary", tmp_path / "v1.binaryproto", tmp_path / "v2.bin")
    assert run.returncode == 0, run.stderr
    v2 = caffe_pb2.NetParameter.FromString((tmp_path / "v2.bin").read_bytes())
    assert len(v2.layers) == 0 and [l.name for l in v2.layer] == [l.name for l in upgraded.layer]

    solver = os.path.join(ZOO, "legacy", "v1-solver-enum", "lenet_adadelta_solver.prototxt")
    run = _tool("upgrade-solver-proto-text", solver, tmp_path / "solver.prototxt")
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "solver.prototxt").read_text()
    assert 'type: "AdaDelta"' in text and "solver_type" not in text

    bad = _tool("upgrade-net-proto-text", tmp_path / "missing.prototxt", tmp_path / "x")
    assert bad.returncode != 0 and "missing.prototxt" in bad.stderr
