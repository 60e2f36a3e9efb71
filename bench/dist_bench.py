#!/usr/bin/env python3
"""Distributed-training benchmark: time and worker iterations to a target
test accuracy, for each exchange mode and worker count, on MNIST (LeNet, to
0.99) and Fashion-MNIST (LeNet, to a fixed target), plus the same with one
worker made 3x slower. Writes bench/results/dist_bench.json, a markdown
table and a PNG plot.

Each run is `deepspark train --workers N --mode M --target-accuracy T` on
Caffe's stock LeNet solver (random_seed fixed, test on the full 10,000 test
images every --test-interval center iterations). Runs that do not reach the
target within --max-seconds are reported as not reached.

Usage: bench/dist_bench.py [--quick] [--modes ...] [--workers 1 2 4 8]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("DEEPSPARK_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"  # the rule of scripts/shared-dir.sh
TOOL = os.path.join(ROOT, "build", "deepspark")
WORK = os.path.join(ROOT, "build", "dist-bench")
RESULTS = os.path.join(ROOT, "bench", "results")

DATASETS = {
    "mnist": (os.path.join(SHARED, "datasets", "mnist"), 0.99),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist", 0.88),
}
MODES = ["async-easgd", "deepspark", "sync-easgd", "model-averaging", "sync-sgd"]


def convert(dataset_dir, name):
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        db = os.path.join(WORK, f"{name}_{split}_lmdb")
        if not os.path.isdir(db):
            subprocess.run([TOOL, "convert-mnist",
                            os.path.join(dataset_dir, f"{prefix}-images-idx3-ubyte.gz"),
                            os.path.join(dataset_dir, f"{prefix}-labels-idx1-ubyte.gz"), db],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out[split] = db
    return out


def write_job(name, dbs, test_interval, max_iter):
    net = open(os.path.join(SHARED, "caffe-zoo/bvlc/examples/mnist/lenet_train_test.prototxt")).read()
    net = net.replace("examples/mnist/mnist_train_lmdb", dbs["train"])
    net = net.replace("examples/mnist/mnist_test_lmdb", dbs["test"])
    net_path = os.path.join(WORK, f"{name}_net.prototxt")
    open(net_path, "w").write(net)
    solver = open(os.path.join(SHARED, "caffe-zoo/bvlc/examples/mnist/lenet_solver.prototxt")).read()
    solver = re.sub(r'net: ".*"', f'net: "{net_path}"', solver)
    solver = re.sub(r"test_interval: \d+", f"test_interval: {test_interval}", solver)
    solver = re.sub(r"max_iter: \d+", f"max_iter: {max_iter}", solver)
    solver = re.sub(r"snapshot: \d+", "snapshot: 0", solver)
    solver = re.sub(r"display: \d+", "display: 0", solver)
    solver = re.sub(r'snapshot_prefix: ".*"', f'snapshot_prefix: "{WORK}/{name}_run"', solver)
    solver += "\nrandom_seed: 1701\n"
    path = os.path.join(WORK, f"{name}_solver.prototxt")
    open(path, "w").write(solver)
    return path


def run(solver, mode, workers, target, max_seconds, slow_delay_ms=0):
    result_file = os.path.join(WORK, "run_result.json")
    if os.path.exists(result_file):
        os.remove(result_file)
    cmd = [TOOL, "train", f"--solver={solver}", f"--workers={workers}", f"--mode={mode}",
           "--threads=1", f"--target-accuracy={target}", f"--result-file={result_file}"]
    if slow_delay_ms > 0:
        cmd += ["--slow-rank=0", f"--slow-delay-ms={slow_delay_ms}"]
    start = time.time()
    try:
        subprocess.run(cmd, capture_output=True, text=True, timeout=max_seconds)
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-f", f"key-file={WORK}/"], check=False)
    wall = time.time() - start
    # The job's result file (not its printed lines) says how it ended.
    result = {}
    if os.path.exists(result_file):
        with open(result_file) as f:
            result = json.load(f)
    reached = result.get("target") or {}
    acc = next((s["value"] for s in result.get("scores", []) if s["name"] == "accuracy"), None)
    return {
        "mode": mode, "workers": workers, "slow": slow_delay_ms > 0,
        "reached": bool(reached), "seconds": reached.get("seconds"),
        "center_iter": reached.get("center_iter"),
        "worker_iters": reached.get("worker_iters"),
        "final_accuracy": acc, "wall": wall,
    }


def ms_per_iter(solver):
    """Single-worker milliseconds per iteration, to size the 3x slowdown."""
    out = subprocess.run([TOOL, "time", f"--model={solver.replace('_solver', '_net')}",
                          "--iterations=20", "--threads=1"], capture_output=True, text=True).stdout
    m = re.search(r"forward_backward_ms=([\d.]+)", out)
    return float(m.group(1)) if m else 15.0


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=False)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    datasets = sorted({r["dataset"] for r in results})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 4 * len(datasets)), squeeze=False)
    for row, ds in enumerate(datasets):
        for col, (key, label) in enumerate((("seconds", "seconds to target"),
                                            ("worker_iters", "worker iterations to target"))):
            ax = axes[row][col]
            for mode in MODES:
                for slow in (False, True):
                    pts = sorted((r["workers"], r[key]) for r in results
                                 if r["dataset"] == ds and r["mode"] == mode and r["slow"] == slow
                                 and r["reached"])
                    if pts:
                        ax.plot([p[0] for p in pts], [p[1] for p in pts],
                                marker="o" if not slow else "x",
                                linestyle="-" if not slow else "--",
                                label=mode + (" (1 worker 3x slower)" if slow else ""))
            ax.set_xscale("log", base=2)
            ax.set_xlabel("workers")
            ax.set_ylabel(label)
            ax.set_title(f"{ds} (target {DATASETS[ds][1]})")
            ax.grid(True, alpha=0.3)
        axes[row][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def table(results):
    lines = ["| dataset | mode | workers | slow worker | reached | seconds | center iters | worker iters | final accuracy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    order = list(DATASETS)
    results = sorted(results, key=lambda r: (order.index(r["dataset"]), r["slow"],
                                             MODES.index(r["mode"]), r["workers"]))
    for r in results:
        fmt = lambda v, f="{}": "-" if v is None else f.format(v)
        lines.append(f"| {r['dataset']} | {r['mode']} | {r['workers']} | {'yes' if r['slow'] else 'no'} | "
                     f"{'yes' if r['reached'] else 'no'} | {fmt(r['seconds'], '{:.1f}')} | "
                     f"{fmt(r['center_iter'])} | {fmt(r['worker_iters'])} | "
                     f"{fmt(r['final_accuracy'], '{:.4f}')} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--modes", nargs="+", default=MODES)
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--slow-workers", type=int, default=4, help="N for the slow-worker runs (0: none)")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--test-interval", type=int, default=250)
    ap.add_argument("--max-iter", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(RESULTS, "dist_bench.json"))
    ap.add_argument("--report", action="store_true",
                    help="only rewrite the table and plot from the JSON")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    results = []
    if os.path.exists(args.out):
        results = json.load(open(args.out))
    done = {(r["dataset"], r["mode"], r["workers"], r["slow"]) for r in results}
    for ds in ([] if args.report else args.datasets):
        data_dir, target = DATASETS[ds]
        solver = write_job(ds, convert(data_dir, ds), args.test_interval, args.max_iter)
        slow_ms = 2 * ms_per_iter(solver)  # one worker 3x slower
        plan = [(m, n, False) for m in args.modes for n in args.workers]
        if args.slow_workers:
            plan += [(m, args.slow_workers, True) for m in args.modes]
        for mode, n, slow in plan:
            if (ds, mode, n, slow) in done:
                continue
            r = run(solver, mode, n, target, args.max_seconds, slow_ms if slow else 0)
            r["dataset"] = ds
            r["target"] = target
            results.append(r)
            print(json.dumps(r), flush=True)
            json.dump(results, open(args.out, "w"), indent=1)
    open(os.path.join(RESULTS, "dist_bench.md"), "w").write(table(results) + "\n")
    plot(results, os.path.join(RESULTS, "dist_bench.png"))
    print(table(results))


if __name__ == "__main__":
    main()
