"""`deepspark report`: the plots and page of a real 4-worker LeNet run and of
a one-process run's Caffe-format log, checked in the PNGs themselves (the
plot areas are not blank; the center's accuracy curve and every worker's
loss curve are drawn, found by their colors), and of a log in real Caffe's
format."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import MNIST, ZOO

import deepspark
from deepspark import report, report_logs

mpl_image = pytest.importorskip("matplotlib.image")
np = pytest.importorskip("numpy")

# tab10, as report.py colors workers by rank; the center is black.
WORKER_RGB = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def tool():
    return deepspark.tool_path()


def caffe_root(tmp, max_iter, test_interval, display):
    """A folder laid out as Caffe's root, with the stock LeNet prototxts
    (the solver shortened) and the MNIST LMDBs."""
    mnist = tmp / "examples" / "mnist"
    mnist.mkdir(parents=True)
    stock = os.path.join(ZOO, "bvlc", "examples", "mnist")
    shutil.copy(os.path.join(stock, "lenet_train_test.prototxt"), mnist)
    with open(os.path.join(stock, "lenet_solver.prototxt")) as f:
        solver = f.read()
    for field, value in (("max_iter", max_iter), ("test_interval", test_interval),
                         ("display", display), ("test_iter", 20), ("snapshot", 0)):
        solver = re.sub(rf"^{field}: .*$", f"{field}: {value}", solver, flags=re.M)
    (mnist / "lenet_solver.prototxt").write_text(solver)
    for images, labels, db in (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                "mnist_train_lmdb"),
                               ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                "mnist_test_lmdb")):
        subprocess.run([tool(), "convert-mnist", os.path.join(MNIST, images),
                        os.path.join(MNIST, labels), str(mnist / db)], check=True,
                       capture_output=True)
    return tmp


def run_tool(args, cwd=None):
    return subprocess.run([tool()] + args, cwd=cwd, capture_output=True, text=True, timeout=600)


def plot_area(png, box, inset=4):
    """The pixels (RGB, 0-255) inside an axes box, less its frame."""
    image = mpl_image.imread(png)
    x0, y0, x1, y1 = box
    area = image[y0 + inset:y1 - inset, x0 + inset:x1 - inset, :3]
    return (area * 255).round().astype(int)


def pixels_near(area, rgb, tolerance=40):
    return int((np.abs(area - np.array(rgb)).sum(axis=2) < tolerance).sum())


def check_figures(out, plotted):
    """Every figure exists, has the size report.json says, and every plot
    area in it holds a drawing (not a blank canvas)."""
    assert plotted["figures"], plotted
    for name, figure in plotted["figures"].items():
        png = out / name
        assert png.stat().st_size > 5000, name
        image = mpl_image.imread(str(png))
        assert [image.shape[1], image.shape[0]] == figure["size_px"], name
        for axes in figure["axes"]:
            area = plot_area(str(png), axes["bbox_px"])
            assert area.size > 0, (name, axes)
            assert area.std() > 5, (name, axes["title"])  # more than a blank background
            if axes["lines"]:
                assert all(line["points"] > 0 for line in axes["lines"]), (name, axes)


def lines_of(figure):
    return {line["label"]: line["points"] for axes in figure["axes"] for line in axes["lines"]}


@pytest.fixture(scope="module")
def distributed_run(tmp_path_factory):
    root = caffe_root(tmp_path_factory.mktemp("lenet4"), max_iter=200, test_interval=50,
                      display=20)
    train = run_tool(["train", "--solver=examples/mnist/lenet_solver.prototxt", "--workers=4"],
                     cwd=root)
    assert train.returncode == 0, train.stdout + train.stderr[-4000:]
    (root / "train.log").write_text(train.stderr)
    return root


def test_report_of_a_four_worker_run(distributed_run):
    root = distributed_run
    made = run_tool(["report", "examples/mnist"], cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    out = root / "examples" / "mnist" / "report"
    assert "Report: " in made.stdout and (out / "index.html").exists()
    for name in ("overview.png", "loss.png", "test.png", "lr.png", "speed.png", "exchange.png"):
        assert (out / name).exists(), name
    assert not [p for p in os.listdir(out) if ".tmp-" in p]  # no temporary file left
    plotted = json.loads((out / "report.json").read_text())
    summary = plotted["summary"]
    assert summary["kind"] == "distributed" and summary["workers"] == 4
    assert summary["center_iteration"] == 200
    # The center was tested every 50 iterations (and at the end).
    assert plotted["series"]["tests"]["accuracy"]["center"] >= 4
    assert summary["final_test"]["center accuracy"]["value"] > 0.8
    for rank in range(4):
        assert plotted["series"]["train_loss"][f"worker {rank}"] >= 2
        assert plotted["series"]["mb_exchanged"][f"worker {rank}"] >= 2
    assert plotted["series"]["lr"]  # from the workers' logs
    check_figures(out, plotted)

    # The overview: the center's accuracy beside each worker's loss, in
    # report.json and in the pixels (the center in black, workers by rank).
    overview = plotted["figures"]["overview.png"]
    labels = lines_of(overview)
    assert {f"worker {r}" for r in range(4)} <= set(labels) and "center" in labels
    assert labels["center"] >= 4
    box = overview["axes"][0]["bbox_px"]
    area = plot_area(str(out / "overview.png"), box)
    assert pixels_near(area, (0, 0, 0)) > 200  # the accuracy curve
    for rank, rgb in enumerate(WORKER_RGB):
        assert pixels_near(area, rgb) > 100, f"worker {rank}'s loss curve"
    html = (out / "index.html").read_text()
    for name in plotted["figures"]:
        assert f'src="{name}"' in html
    assert "center accuracy" in html

    # The console log of the same run reads too (center tests, progress lines).
    console = run_tool(["report", "train.log", "--out", "console_report"], cwd=root)
    assert console.returncode == 0, console.stderr
    plotted = json.loads((root / "console_report" / "report.json").read_text())
    assert plotted["series"]["tests"]["accuracy"]["center"] >= 4


def test_report_of_a_caffe_format_log(tmp_path):
    root = caffe_root(tmp_path, max_iter=60, test_interval=30, display=10)
    train = run_tool(["train", "--solver=examples/mnist/lenet_solver.prototxt"], cwd=root)
    assert train.returncode == 0, train.stderr[-4000:]
    (root / "train.log").write_text(train.stderr)
    made = run_tool(["report", "train.log", "--out", "rep"], cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    plotted = json.loads((root / "rep" / "report.json").read_text())
    assert plotted["summary"]["kind"] == "single"
    assert plotted["summary"]["batch_size"] == 64
    assert plotted["series"]["train_loss"]["train"] == 7  # iterations 0, 10, ..., 60
    assert plotted["series"]["tests"]["accuracy"]["test"] == 3  # 0, 30, 60
    assert plotted["series"]["lr"]["train"] == 6
    check_figures(root / "rep", plotted)
    assert {"overview.png", "loss.png", "test.png", "lr.png", "speed.png"} <= set(
        plotted["figures"])
    assert "exchange.png" not in plotted["figures"]
    # The folder finds its newest log, and the default output is RUN/report.
    made = run_tool(["report", str(root)])
    assert made.returncode == 0, made.stderr
    assert (root / "report" / "index.html").exists()


def real_caffe_log(path, older=False):
    """A log as BVLC Caffe writes it (glog prefix with the thread id; the
    lines of FORMAT.md 3e), older builds without the rate part."""
    lines = ["I1126 23:58:01.000100  4242 solver.cpp:44] Initializing solver from parameters:",
             "I1126 23:58:01.000200  4242 solver.cpp:87] Creating training net from net file: "
             "examples/mnist/lenet_train_test.prototxt",
             "I1126 23:58:01.000300  4242 net.cpp:150] Setting up mnist",
             "I1126 23:58:01.000400  4242 net.cpp:157] Top shape: 64 1 28 28 (50176)",
             "I1126 23:58:01.000500  4242 net.cpp:157] Top shape: 64 (64)"]
    for step, it in enumerate(range(0, 1001, 100)):
        # From 23:58 on Nov 26 past midnight: the clock must carry on.
        stamp = _glog_stamp(23 * 3600 + 58 * 60 + 30.5 * (step + 1))
        if it % 500 == 0:
            lines.append(f"{stamp} solver.cpp:330] Iteration {it}, Testing net (#0)")
            lines.append(f"{stamp} solver.cpp:397]     Test net output #0: accuracy = "
                         f"{0.1 + 0.8 * it / 1000:.4f}")
            lines.append(f"{stamp} solver.cpp:397]     Test net output #1: loss = "
                         f"{2.3 / (1 + it / 50):.5f} (* 1 = {2.3 / (1 + it / 50):.5f} loss)")
        rate = "" if older else " (3.2 iter/s, 31.2s/100 iters)"
        loss = 2.3 / (1 + it / 100)
        lines.append(f"{stamp} solver.cpp:218] Iteration {it}{rate}, loss = {loss:.5f}")
        lines.append(f"{stamp} solver.cpp:237]     Train net output #0: loss = {loss:.5f} "
                     f"(* 1 = {loss:.5f} loss)")
        lines.append(f"{stamp} sgd_solver.cpp:105] Iteration {it}, lr = "
                     f"{0.01 * (1 + 0.0001 * it) ** -0.75:.6g}")
    lines.append("I1127 00:04:00.000000  4242 solver.cpp:310] Optimization Done.")
    path.write_text("\n".join(lines) + "\n")
    return path


def _glog_stamp(seconds):
    """glog's prefix ("I1126 23:58:31.500000  4242") for seconds since Nov 26 00:00."""
    day, seconds = 26 + int(seconds // 86400), seconds % 86400
    return (f"I11{day} {int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:"
            f"{seconds % 60:09.6f}  4242")


@pytest.mark.parametrize("older", [False, True])
def test_real_caffe_log_reads(tmp_path, older):
    run = report_logs.find_run(str(real_caffe_log(tmp_path / "caffe.log", older)))
    assert run.kind == "single" and run.batch_size == 64
    assert run.train_loss["train"]["iter"] == list(range(0, 1001, 100))
    secs = run.train_loss["train"]["t"]
    assert all(b > a for a, b in zip(secs, secs[1:]))  # across midnight too
    assert run.tests["accuracy"]["test"]["iter"] == [0, 500, 1000]
    assert run.tests["loss"]["test"]["y"][0] == pytest.approx(2.3)
    assert len(run.lr["train"]["y"]) == 11
    assert bool(run.images_per_sec) is not older
    if not older:
        assert run.images_per_sec["train"]["y"][-1] == pytest.approx(3.2 * 64)
    assert report.main([str(tmp_path / "caffe.log"), "--out", str(tmp_path / "r")]) == 0
    check_figures(tmp_path / "r", json.loads((tmp_path / "r" / "report.json").read_text()))


def test_errors_name_what_is_missing(tmp_path):
    empty = run_tool(["report", str(tmp_path)])
    assert empty.returncode == 1
    assert "no run found" in empty.stderr and str(tmp_path) in empty.stderr
    missing = run_tool(["report", str(tmp_path / "nope.jsonl")])
    assert missing.returncode == 1 and "no such file" in missing.stderr
    (tmp_path / "notes.log").write_text("nothing to see\n")
    not_a_log = run_tool(["report", str(tmp_path / "notes.log")])
    assert not_a_log.returncode == 1 and "no training lines" in not_a_log.stderr
    # Without a Python that runs, the tool says which interpreter it tried.
    env = dict(os.environ, DEEPSPARK_PYTHON=str(tmp_path / "no-python"))
    no_python = subprocess.run([tool(), "report", str(tmp_path)], capture_output=True,
                               text=True, env=env)
    assert no_python.returncode == 1
    assert "no-python" in no_python.stderr and "DEEPSPARK_PYTHON" in no_python.stderr
