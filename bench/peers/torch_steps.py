#!/usr/bin/env python3
"""Time PyTorch training steps on the nets of bench/nets/ (issue 9).

  torch_steps.py [--device cuda|cpu] [--graphs] [--nets lenet,cifar10_quick,...]
                 [--batch N] [--warmup W] [--iterations N] [--iterations-big N]

Builds LeNet, cifar10_quick, AlexNet and ResNet-50 in torch.nn with the
layer hyperparameters of bench/nets/*.prototxt (Caffe's pooling rounds its
output size up: ceil_mode=True; Caffe's LRN divides alpha by the window size
as nn.LocalResponseNorm does, so the two take the same alpha; Caffe's
BatchNorm moving_average_fraction 0.999 is momentum 0.001 here; ResNet-50's
downsampling stride sits on the first 1x1 convolution, as in
bench/nets/make_resnet50.py). The input is one constant batch (0.5, as the
DummyData layers) and labels drawn once, uniform over the classes.

For each net it times, on the same batch:
  eager     a whole training step: zero the gradients, forward, softmax
            cross-entropy loss, backward, SGD with momentum (lr 0.01,
            momentum 0.9, weight decay 5e-4);
  eager_fb  forward, loss and backward only, without the update: what
            `deepspark time` and Caffe's `caffe time` measure;
  graphs    (--graphs, CUDA only) the whole step captured once as a CUDA
            graph (torch.cuda.graph) and replayed.
Each mode runs --warmup untimed steps, then --iterations timed ones, each
ended by torch.cuda.synchronize() on CUDA; one JSON line per (net, mode) on
stdout with the median ms per step. FP32 throughout: TF32 is off unless
--tf32 (PyTorch allows it for convolutions by default on Ampere and later).
cuDNN picks its algorithms by benchmark (torch.backends.cudnn.benchmark).
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn

# name -> (default batch, (C, H, W), classes); the batches of issue 9.
NETS = {
    "lenet": (64, (1, 28, 28), 10),
    "cifar10_quick": (100, (3, 32, 32), 10),
    "alexnet": (128, (3, 227, 227), 1000),
    "resnet50": (32, (3, 224, 224), 1000),
}
BIG = ("alexnet", "resnet50")


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2, ceil_mode=True),
        nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2, ceil_mode=True),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(inplace=True), nn.Linear(500, 10))


def cifar10_quick():
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(3, 2, ceil_mode=True), nn.ReLU(inplace=True),
        nn.Conv2d(32, 32, 5, padding=2), nn.ReLU(inplace=True),
        nn.AvgPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(inplace=True),
        nn.AvgPool2d(3, 2, ceil_mode=True),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 64), nn.Linear(64, 10))


def alexnet():
    def lrn():
        return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True), lrn(),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True), lrn(),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 1000))


def conv_bn(cin, cout, kernel, stride, pad, relu):
    """Caffe's Convolution (no bias) + BatchNorm + Scale (+ ReLU)."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, pad, bias=False),
              nn.BatchNorm2d(cout, eps=1e-5, momentum=0.001)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, project):
        super().__init__()
        self.branch2 = nn.Sequential(*conv_bn(cin, width, 1, stride, 0, True),
                                     *conv_bn(width, width, 3, 1, 1, True),
                                     *conv_bn(width, 4 * width, 1, 1, 0, False))
        self.branch1 = nn.Sequential(*conv_bn(cin, 4 * width, 1, stride, 0, False)) \
            if project else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = self.branch1(x) if self.branch1 is not None else x
        return self.relu(self.branch2(x) + shortcut)


def resnet50():
    layers = conv_bn(3, 64, 7, 2, 3, True) + [nn.MaxPool2d(3, 2, ceil_mode=True)]
    cin = 64
    for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3))):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            layers.append(Bottleneck(cin, width, stride, project=(i == 0)))
            cin = 4 * width
    layers += [nn.AvgPool2d(7, 1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


BUILDERS = {"lenet": lenet, "cifar10_quick": cifar10_quick, "alexnet": alexnet,
            "resnet50": resnet50}


def timed(step, warmup, iterations, sync):
    """Median and min ms of `iterations` calls of step after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def run_net(name, args, device, emit):
    batch = args.batch or NETS[name][0]
    chw, classes = NETS[name][1], NETS[name][2]
    iterations = args.iterations_big if name in BIG else args.iterations
    torch.manual_seed(1)
    model = BUILDERS[name]().to(device).train()
    x = torch.full((batch,) + chw, 0.5, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    base = {"net": name, "batch": batch, "device": args.device,
            "params": sum(p.numel() for p in model.parameters()), "iterations": iterations,
            "warmup": args.warmup}
    losses = []

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        if len(losses) < 1:
            losses.append(float(loss))

    def forward_backward():
        optimizer.zero_grad(set_to_none=True)
        criterion(model(x), y).backward()

    median, fastest = timed(step, args.warmup, iterations, sync)
    emit(dict(base, mode="eager", median_ms=median, min_ms=fastest, first_loss=losses[0]))
    median, fastest = timed(forward_backward, args.warmup, iterations, sync)
    emit(dict(base, mode="eager_fb", median_ms=median, min_ms=fastest))
    if not args.graphs:
        return
    if not cuda:
        emit(dict(base, mode="graphs", skipped="CUDA graphs need --device cuda"))
        return
    try:
        # Warm up on a side stream (cuDNN's benchmark, the optimizer's
        # momentum buffers), then capture one whole step with the gradients
        # unset, so that the captured backward writes them rather than adds.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            static_loss = criterion(model(x), y)
            static_loss.backward()
            optimizer.step()
        median, fastest = timed(graph.replay, args.warmup, iterations, sync)
        emit(dict(base, mode="graphs", median_ms=median, min_ms=fastest,
                  last_loss=float(static_loss)))
    except Exception as e:  # a capture failure is a result to report, not a crash
        emit(dict(base, mode="graphs", error="%s: %s" % (type(e).__name__, e)))


def set_fp32_precision(tf32):
    """TF32 on or off for convolutions and matrix products.

    Newer PyTorch (2.9 on) has fp32_precision settings and deprecates the
    allow_tf32 flags; older versions have only the flags.
    """
    precision = "tf32" if tf32 else "ieee"
    try:
        torch.backends.cudnn.conv.fp32_precision = precision
        torch.backends.cuda.matmul.fp32_precision = precision
    except AttributeError:
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--graphs", action="store_true", help="also time a CUDA-graph-captured step")
    ap.add_argument("--nets", default=",".join(NETS),
                    help="comma-separated, of: " + ", ".join(NETS))
    ap.add_argument("--batch", type=int, default=0, help="override every net's batch")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=100, help="timed steps, small nets")
    ap.add_argument("--iterations-big", type=int, default=30,
                    help="timed steps, AlexNet and ResNet-50")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (default: strict FP32)")
    args = ap.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"engine": "pytorch", "torch": torch.__version__,
                          "error": "torch %s sees no CUDA device" % torch.__version__}))
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    set_fp32_precision(args.tf32)
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"

    def emit(record):
        record.update(engine="pytorch", torch=torch.__version__, card=card, tf32=args.tf32)
        print(json.dumps(record), flush=True)

    for name in args.nets.split(","):
        if name not in NETS:
            ap.error("unknown net %r" % name)
        try:
            run_net(name, args, device, emit)
        except Exception as e:  # out of memory, say: the other nets still run
            emit({"net": name, "mode": "eager", "error": "%s: %s" % (type(e).__name__, e)})
        if args.device == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
