#!/usr/bin/env python3
"""Scaling on the emulated cluster: wall time to a target test accuracy with
N = 1, 2, 4, 8 worker nodes of equal CPU quota, per exchange rule, and with
one node 3x slower (a third of the quota).

Nodes (cluster.py): the server (--server-cpu cores, its tester on one thread)
and N workers (--cpu cores each, one thread), every node on a --mbit link.
Each run is `deepspark server --target-accuracy=T` plus N `deepspark worker`
processes on Caffe's stock LeNet solver (random_seed 1701), testing the
center on all 10,000 test images every --test-interval center iterations;
the time to the target is the server's, from its result file. Records go to
bench/results/cluster_<name>.json (one per run, resumable: runs already in
the file are skipped), with a markdown table and plots beside it.

Usage: bench/cluster/scaling.py [--datasets mnist fashion-mnist] [--modes ...]
         [--workers 1 2 4 8] [--slow 4 8] [--cpu 0.2] [--mbit 1000] [--net lenet|lenet-wide]
         [--name NAME]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import dist_bench  # noqa: E402
from dist_bench import convert  # noqa: E402  (MNIST-format IDX -> LMDB, cached)

ROOT = cluster.ROOT
TOOL = cluster.TOOL
SHARED = os.environ.get("DEEPSPARK_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"
WORK = os.path.join(ROOT, "build", "cluster-bench")
RESULTS = os.path.join(ROOT, "bench", "results")
DATASETS = {
    "mnist": (os.path.join(SHARED, "datasets", "mnist"), 0.99),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist", 0.88),
}
MODES = ["async-easgd", "deepspark", "sync-easgd", "model-averaging", "sync-sgd"]


NETS = {
    # Caffe's stock LeNet, and a larger net (nets/lenet_wide_train_test.prototxt:
    # LeNet with 32/64 maps and 512 hidden units: 1.9x its multiply-adds).
    "lenet": os.path.join(SHARED, "caffe-zoo/bvlc/examples/mnist/lenet_train_test.prototxt"),
    "lenet-wide": os.path.join(os.path.dirname(os.path.abspath(__file__)), "nets",
                            "lenet_wide_train_test.prototxt"),
}


def write_solver(name, dbs, test_interval, max_iter, base_lr, net_name="lenet"):
    zoo = os.path.join(SHARED, "caffe-zoo/bvlc/examples/mnist")
    net = open(NETS[net_name]).read()
    net = net.replace("examples/mnist/mnist_train_lmdb", dbs["train"])
    net = net.replace("examples/mnist/mnist_test_lmdb", dbs["test"])
    net_path = os.path.join(WORK, f"{name}_net.prototxt")
    with open(net_path, "w") as f:
        f.write(net)
    solver = open(os.path.join(zoo, "lenet_solver.prototxt")).read()
    solver = re.sub(r'net: ".*"', f'net: "{net_path}"', solver)
    solver = re.sub(r"test_interval: \d+", f"test_interval: {test_interval}", solver)
    solver = re.sub(r"max_iter: \d+", f"max_iter: {max_iter}", solver)
    solver = re.sub(r"base_lr: [\d.]+", f"base_lr: {base_lr}", solver)
    solver = re.sub(r"snapshot: \d+", "snapshot: 0", solver)
    solver = re.sub(r"display: \d+", "display: 0", solver)
    solver = re.sub(r'snapshot_prefix: ".*"', f'snapshot_prefix: "{WORK}/{name}_run"', solver)
    solver += "\nrandom_seed: 1701\n"
    path = os.path.join(WORK, f"{name}_solver.prototxt")
    with open(path, "w") as f:
        f.write(solver)
    return path


def bytes_moved(metrics_path):
    """Sum over workers of their last reported bytes sent and received."""
    last = {}
    accuracy = []
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            for line in f:
                m = json.loads(line)
                if "worker" in m and "bytes_sent" in m:
                    last[m["worker"]] = m
                if "accuracy" in m and m.get("test_net") == 0:
                    accuracy.append((m["t"], m["accuracy"]))
    sent = sum(m["bytes_sent"] for m in last.values())
    received = sum(m["bytes_received"] for m in last.values())
    return sent, received, accuracy


def run_one(args, dataset, solver, target, mode, workers, slow):
    nodes = [("server", args.server_cpu, args.mbit)]
    for i in range(workers):
        cpu = args.cpu / 3 if (slow and i == 0) else args.cpu
        nodes.append((f"w{i}", cpu, args.mbit))
    workdir = os.path.join(WORK, f"{dataset}_{mode}_{workers}{'_slow' if slow else ''}")
    os.makedirs(workdir, exist_ok=True)
    metrics = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    extra = [f"--target-accuracy={target}", f"--metrics={metrics}", "--heartbeat-timeout-ms=30000"]
    if args.tau:
        extra.append(f"--tau={args.tau}")
    if args.moving_rate:
        extra.append(f"--moving-rate={args.moving_rate}")
    if args.lr_power is not None:
        extra.append(f"--lr-power={args.lr_power}")
    if args.lr_schedule:
        extra.append(f"--lr-schedule={args.lr_schedule}")
    record = {"dataset": dataset, "net": args.net, "mode": mode, "workers": workers, "slow": slow,
              "target": target, "cpu_per_worker": args.cpu, "server_cpu": args.server_cpu,
              "mbit": args.mbit, "tau": args.tau or 10, "base_lr": args.base_lr,
              "lr_power": args.lr_power,
              "lr_schedule": args.lr_schedule, "moving_rate": args.moving_rate or 0.9 / workers,
              "reached": False}
    try:
        with cluster.Cluster(nodes) as c:
            result = cluster.run_job(c, workdir, solver, workers, mode=mode, extra_server=extra,
                                     timeout=args.max_seconds)
    except RuntimeError as e:
        # Not reached in time: how far it got is still worth recording.
        record["error"] = str(e)
        sent, received, curve = bytes_moved(metrics)
        record.update({"bytes_sent": sent, "bytes_received": received, "accuracy_curve": curve,
                       "wall": args.max_seconds,
                       "best_accuracy": max((a for _, a in curve), default=None)})
        return record
    reached = result.get("target") or {}
    sent, received, curve = bytes_moved(metrics)
    record.update({
        "reached": bool(reached), "seconds": reached.get("seconds"),
        "center_iter": reached.get("center_iter"), "worker_iters": reached.get("worker_iters"),
        "final_accuracy": next((s["value"] for s in result.get("scores", [])
                                if s["name"] == "accuracy"), None),
        "wall": result["wall_seconds"], "bytes_sent": sent, "bytes_received": received,
        "accuracy_curve": curve,
    })
    return record


def table(records):
    lines = ["| dataset | mode | N | slow node | reached | seconds | speed-up | center iters | "
             "worker iters | MB moved |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    base = {(r["dataset"], r["mode"]): r["seconds"] for r in records
            if r["workers"] == 1 and not r["slow"] and r.get("reached")}
    for r in sorted(records, key=lambda r: (r["dataset"], r["slow"], MODES.index(r["mode"]),
                                            r["workers"])):
        b = base.get((r["dataset"], r["mode"]))
        speed = f"{b / r['seconds']:.2f}" if b and r.get("reached") else "-"
        fmt = lambda v, f="{}": "-" if v is None else f.format(v)
        mb = (r.get("bytes_sent", 0) + r.get("bytes_received", 0)) / 1e6
        lines.append(f"| {r['dataset']} | {r['mode']} | {r['workers']} | "
                     f"{'yes' if r['slow'] else 'no'} | {'yes' if r.get('reached') else 'no'} | "
                     f"{fmt(r.get('seconds'), '{:.1f}')} | {speed} | {fmt(r.get('center_iter'))} | "
                     f"{fmt(r.get('worker_iters'))} | {mb:.0f} |")
    return "\n".join(lines)


def ensure_matplotlib():
    """Installed before entering the network namespace (no network there)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=False)


def plot(records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    datasets = sorted({r["dataset"] for r in records})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 4.5 * len(datasets)), squeeze=False)
    for row, ds in enumerate(datasets):
        ax = axes[row][0]
        for mode in MODES:
            rs = [r for r in records if r["dataset"] == ds and r["mode"] == mode and not r["slow"]
                  and r.get("reached")]
            base = next((r["seconds"] for r in rs if r["workers"] == 1), None)
            if base and len(rs) > 1:
                pts = sorted((r["workers"], base / r["seconds"]) for r in rs)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=mode)
        ns = [1, 2, 4, 8]
        ax.plot(ns, ns, "k:", label="ideal")
        ax.plot(ns, [0.6 * n for n in ns], "k--", alpha=0.4, label="0.6 N")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("worker nodes")
        ax.set_ylabel("speed-up to target")
        ax.set_title(f"{ds}: speed-up vs N")
        ax.legend(fontsize=7)
        ax = axes[row][1]
        for r in records:
            if r["dataset"] == ds and r["mode"] == "async-easgd" and r.get("accuracy_curve"):
                t = [p[0] for p in r["accuracy_curve"]]
                a = [p[1] for p in r["accuracy_curve"]]
                ax.plot(t, a, label=f"N={r['workers']}{' slow' if r['slow'] else ''}")
        ax.set_xlabel("wall seconds")
        ax.set_ylabel("center test accuracy")
        ax.set_title(f"{ds}: async-easgd accuracy vs time")
        ax.set_ylim(0.8, 1.0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["mnist"])
    ap.add_argument("--modes", nargs="+", default=MODES)
    ap.add_argument("--workers", nargs="*", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--slow", nargs="*", type=int, default=[4, 8],
                    help="N of the runs with one node 3x slower")
    ap.add_argument("--slow-modes", nargs="*", default=["async-easgd", "sync-easgd", "sync-sgd"])
    ap.add_argument("--cpu", type=float, default=0.2, help="cores per worker node")
    ap.add_argument("--server-cpu", type=float, default=0.3, help="cores of the server node")
    ap.add_argument("--mbit", type=int, default=1000, help="link of every node, Mbit/s")
    ap.add_argument("--tau", type=int, default=0)
    ap.add_argument("--moving-rate", type=float, default=0)
    ap.add_argument("--base-lr", type=float, default=0.01,
                    help="tuning: the solver file's base_lr (Caffe's LeNet: 0.01)")
    ap.add_argument("--lr-power", type=float, default=None,
                    help="the server's --lr-power (default: the rule's)")
    ap.add_argument("--lr-schedule", default="", help="the server's --lr-schedule (worker|all)")
    ap.add_argument("--test-interval", type=int, default=250)
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--target", type=float, default=0, help="override the datasets' targets")
    ap.add_argument("--net", default="lenet", choices=sorted(NETS),
                    help="the net (the solver stays Caffe's LeNet solver)")
    ap.add_argument("--name", default="emulated")
    args = ap.parse_args()
    reason = cluster.why_not()
    if reason:
        print(f"cannot emulate a cluster here: {reason}")
        return 1
    ensure_matplotlib()
    cluster.enter_private_netns()
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(dist_bench.WORK, exist_ok=True)  # where convert() keeps the LMDBs
    out = os.path.join(RESULTS, f"cluster_{args.name}.json")
    records = json.load(open(out)) if os.path.exists(out) else []
    done = {(r["dataset"], r["mode"], r["workers"], r["slow"]) for r in records}
    plan = []
    for ds in args.datasets:
        for mode in args.modes:
            for n in args.workers:
                plan.append((ds, mode, n, False))
            if mode in args.slow_modes:
                for n in args.slow:
                    plan.append((ds, mode, n, True))
    for ds, mode, n, slow in plan:
        if (ds, mode, n, slow) in done:
            continue
        dataset_dir, target = DATASETS[ds]
        target = args.target or target
        if not os.path.isdir(dataset_dir):
            print(f"{ds}: no data at {dataset_dir} (Fashion-MNIST: apt-get install "
                  "dataset-fashion-mnist); skipped")
            continue
        dbs = convert(dataset_dir, ds)
        solver = write_solver(ds, dbs, args.test_interval, 10000 * 4, args.base_lr, args.net)
        t0 = time.time()
        r = run_one(args, ds, solver, target, mode, n, slow)
        print(f"{ds} {mode} N={n}{' slow' if slow else ''}: reached={r['reached']} "
              f"seconds={r.get('seconds')} wall={time.time() - t0:.0f}s", flush=True)
        records.append(r)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(records, f, indent=1)
        os.replace(tmp, out)
    with open(os.path.join(RESULTS, f"cluster_{args.name}.md"), "w") as f:
        f.write(table(records) + "\n")
    plot(records, os.path.join(RESULTS, f"cluster_{args.name}.png"))
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
