#!/usr/bin/env python3
"""LSTM and RNN beside real Caffe: the same net, data and initial weights
trained by `caffe train` and by `deepspark train`, compared loss by loss and
weight by weight.

The net reads sequences from HDF5 (T = 6 steps of 4 streams, 10 batches,
sequences that start at random steps, so the state carried across batches
and the cont resets both matter), runs an LSTM with a static input and an
RNN side by side, and regresses the input of the step before (a task that
needs memory). Both engines start from one .caffemodel written by
DeepSpark's fillers, and train 100 iterations of SGD with momentum and
weight decay in float.

With --time, also times a training step (forward + backward, `caffe time`,
`deepspark time` and, when built, libtorch's bench/peers/torch_time, the
engines taking turns, 3 rounds, median) of an LSTM and of an RNN of 256 units
over 20 steps of 32 streams of 128 inputs (DummyData), on 1 and 2 threads
(OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to it for every engine, as
bench/peers/run.sh does).

Usage: bench/peers/recurrent_parity.py --caffe PATH/TO/caffe [--out DIR] [--time]
(the deepspark binary and Python package from build/ unless --deepspark /
PYTHONPATH say otherwise). Prints markdown tables; exit status 1 when the
two differ by more than float rounding grown over training (loss: 1e-4
relative, weights: 1e-3 absolute).
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

STEPS, STREAMS, INPUTS, STATIC, BATCHES = 6, 4, 3, 2, 10

NET = """name: "recurrent_parity"
layer { name: "data" type: "HDF5Data" top: "x" top: "cont" top: "xs_seq" top: "target"
        hdf5_data_param { source: "%(list)s" batch_size: %(steps)d } }
layer { name: "xs_slice" type: "Slice" bottom: "xs_seq" top: "xs_first" top: "xs_rest"
        slice_param { axis: 0 slice_point: 1 } }
layer { name: "xs_silence" type: "Silence" bottom: "xs_rest" }
layer { name: "xs" type: "Reshape" bottom: "xs_first" top: "xs"
        reshape_param { shape { dim: -1 dim: %(static)d } } }
layer { name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" bottom: "xs" top: "h"
        recurrent_param { num_output: 5
          weight_filler { type: "uniform" min: -0.3 max: 0.3 }
          bias_filler { type: "uniform" min: -0.1 max: 0.1 } } }
layer { name: "rnn" type: "RNN" bottom: "x" bottom: "cont" top: "o"
        recurrent_param { num_output: 4
          weight_filler { type: "uniform" min: -0.3 max: 0.3 }
          bias_filler { type: "uniform" min: -0.1 max: 0.1 } } }
layer { name: "cat" type: "Concat" bottom: "h" bottom: "o" top: "ho" concat_param { axis: 2 } }
layer { name: "out" type: "InnerProduct" bottom: "ho" top: "y"
        inner_product_param { num_output: 1 axis: 2 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
"""

SOLVER = """net: "%(net)s"
base_lr: 0.1
momentum: 0.9
weight_decay: 0.0005
lr_policy: "fixed"
max_iter: 100
display: 1
snapshot: 100
snapshot_prefix: "%(prefix)s"
solver_mode: CPU
"""


TIME_NET = """name: "recurrent_time"
layer { name: "data" type: "DummyData" top: "x" top: "cont" top: "target"
        dummy_data_param {
          shape { dim: 20 dim: 32 dim: 128 } shape { dim: 20 dim: 32 } shape { dim: 20 dim: 32 dim: 1 }
          data_filler { type: "gaussian" std: 1 } data_filler { type: "constant" value: 1 }
          data_filler { type: "gaussian" std: 1 } } }
layer { name: "rec" type: "%(type)s" bottom: "x" bottom: "cont" top: "h"
        recurrent_param { num_output: 256 weight_filler { type: "uniform" min: -0.08 max: 0.08 } } }
layer { name: "out" type: "InnerProduct" bottom: "h" top: "y"
        inner_product_param { num_output: 1 axis: 2 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
"""


def time_step(binary, engine, model, kind, threads, env):
    env = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    if engine == "torch":
        cmd = [binary, "--net=" + kind.lower(), "--batch=32", "--threads=%d" % threads,
               "--iterations=10"]
    else:
        cmd = [binary, "time", "--model=" + model, "--iterations=10"]
    if engine == "deepspark":
        cmd.append("--threads=%d" % threads)
    text = run(cmd, os.path.dirname(model), env)
    pattern = (r"Average Forward-Backward: ([\d.eE+-]+) ms" if engine == "caffe"
               else r"forward_backward_ms=([\d.eE+-]+)")
    return float(re.findall(pattern, text)[-1])


def time_table(binaries, out, env):
    import statistics
    print()
    torch = "torch" in binaries
    print("| layer (T=20, N=32, I=128, D=256) | threads | caffe ms | deepspark ms | caffe / deepspark"
          + (" | libtorch ms |" if torch else " |"))
    print("| --- | --- | --- | --- | ---" + (" | --- |" if torch else " |"))
    for kind in ("LSTM", "RNN"):
        model = os.path.join(out, "time_%s.prototxt" % kind.lower())
        with open(model, "w") as f:
            f.write(TIME_NET % {"type": kind})
        for threads in (1, 2):
            ms = {e: [] for e in binaries}
            for _ in range(3):
                for engine, binary in binaries.items():
                    ms[engine].append(time_step(binary, engine, model, kind, threads, env))
            c, d = statistics.median(ms["caffe"]), statistics.median(ms["deepspark"])
            print("| %s | %d | %.1f | %.1f | %.2f |" % (kind, threads, c, d, c / d)
                  + (" %.1f |" % statistics.median(ms["torch"]) if torch else ""))


def write_data(folder):
    import h5py
    rng = np.random.default_rng(7)
    total = STEPS * BATCHES
    x = rng.uniform(-1, 1, (total, STREAMS, INPUTS)).astype(np.float32)
    cont = (rng.uniform(size=(total, STREAMS)) > 0.2).astype(np.float32)
    cont[0] = 0
    xs = np.repeat(rng.uniform(-1, 1, (BATCHES, 1, STREAMS, STATIC)), STEPS, axis=1)
    target = np.zeros((total, STREAMS, 1), np.float32)
    target[1:, :, 0] = x[:-1, :, 0] * cont[1:]
    path = os.path.join(folder, "sequences.h5")
    with h5py.File(path, "w") as f:
        f["x"], f["cont"], f["target"] = x, cont, target
        f["xs_seq"] = xs.reshape(total, STREAMS, STATIC).astype(np.float32)
    with open(os.path.join(folder, "list.txt"), "w") as f:
        f.write(path + "\n")


def losses(log):
    return {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"Iteration (\d+).*?, loss = ([-+.\deE]+|nan)", log)}


def run(cmd, cwd, env=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env)
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s" % (cmd[0], p.returncode, p.stdout[-3000:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caffe", required=True, help="BVLC caffe binary")
    ap.add_argument("--deepspark", default=os.path.join(ROOT, "build", "deepspark"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "recurrent_parity"))
    ap.add_argument("--time", action="store_true", help="also time a step beside Caffe")
    ap.add_argument("--torch-time", default=os.path.join(ROOT, "build", "bench", "peers",
                                                         "torch_time"))
    args = ap.parse_args()
    import deepspark

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    write_data(out)
    net_path = os.path.join(out, "net.prototxt")
    with open(net_path, "w") as f:
        f.write(NET % {"list": os.path.join(out, "list.txt"), "steps": STEPS, "static": STATIC})
    init = os.path.join(out, "init.caffemodel")
    deepspark.set_random_seed(1)
    deepspark.Net(net_path, deepspark.TRAIN).save(init)

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    caffe_lib = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.caffe))), "lib")
    env["LD_LIBRARY_PATH"] = caffe_lib + ":" + env.get("LD_LIBRARY_PATH", "")
    logs, models = {}, {}
    for engine, binary in (("caffe", args.caffe), ("deepspark", args.deepspark)):
        solver = os.path.join(out, engine + "_solver.prototxt")
        with open(solver, "w") as f:
            f.write(SOLVER % {"net": net_path, "prefix": os.path.join(out, engine)})
        logs[engine] = losses(run([binary, "train", "--solver=" + solver, "--weights=" + init],
                                  out, env))
        models[engine] = os.path.join(out, engine + "_iter_100.caffemodel")

    iters = sorted(set(logs["caffe"]) & set(logs["deepspark"]))
    if len(iters) < 100:
        sys.exit("only %d common iterations in the logs" % len(iters))
    loss_rel = max(abs(logs["caffe"][i] - logs["deepspark"][i]) / max(abs(logs["caffe"][i]), 1e-6)
                   for i in iters)
    nets = {e: deepspark.Net(net_path, deepspark.TRAIN, weights=m) for e, m in models.items()}
    print("| blob | shape | max abs difference after 100 iterations |")
    print("| --- | --- | --- |")
    worst = 0.0
    for layer, blobs in nets["caffe"].params.items():
        for i, blob in enumerate(blobs):
            diff = float(np.max(np.abs(blob.data - nets["deepspark"].params[layer][i].data)))
            worst = max(worst, diff)
            print("| %s[%d] | %s | %.2e |" % (layer, i, "x".join(map(str, blob.data.shape)), diff))
    print()
    print("loss at iteration 0: caffe %.7g, deepspark %.7g; at 99: caffe %.7g, deepspark %.7g"
          % (logs["caffe"][0], logs["deepspark"][0], logs["caffe"][99], logs["deepspark"][99]))
    print("largest relative loss difference over %d iterations: %.2e" % (len(iters), loss_rel))
    if args.time:
        binaries = {"caffe": args.caffe, "deepspark": args.deepspark}
        if os.access(args.torch_time, os.X_OK):
            binaries["torch"] = args.torch_time
        time_table(binaries, out, env)
    return 0 if loss_rel < 1e-4 and worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
