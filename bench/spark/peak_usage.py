#!/usr/bin/env python3
"""Samples what a Spark job's executors use until stopped (SIGTERM/SIGINT):

    peak_usage.py --out usage.json --root-pid P [--root-pid Q ...] [--disk DIR ...]

Every 0.25 s it sums the resident memory (RSS, from /proc) of all processes
below each root (a Spark Worker daemon: its executor JVMs, their Python
workers and the DeepSpark workers they start; the roots themselves are left
out) and the space files take under each --disk folder (allocated blocks,
so a sparse LMDB map counts what it holds). At the end it writes the peaks
as JSON: total and per-root peak RSS (MiB), peak disk (MiB), samples.
Linux only.
"""
import argparse
import json
import os
import signal
import time


def _children():
    """{pid: [child pids]} of every process now."""
    tree = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(name))
    return tree


def _rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _descendants(tree, root):
    out, stack = [], list(tree.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(tree.get(pid, []))
    return out


def _disk_mib(folder):
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except OSError:
                pass
    return total / 2.0 ** 20


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--root-pid", type=int, action="append", default=[])
    p.add_argument("--disk", action="append", default=[])
    p.add_argument("--interval", type=float, default=0.25)
    args = p.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    peak_total, peak_per_root, peak_disk, samples = 0.0, {}, 0.0, 0
    while not stop:
        tree = _children()
        total = 0.0
        for root in args.root_pid:
            rss = sum(_rss_mib(pid) for pid in _descendants(tree, root))
            peak_per_root[root] = max(peak_per_root.get(root, 0.0), rss)
            total += rss
        peak_total = max(peak_total, total)
        if args.disk:
            peak_disk = max(peak_disk, sum(_disk_mib(d) for d in args.disk))
        samples += 1
        time.sleep(args.interval)
    result = {"peak_rss_mib": round(peak_total, 1),
              "peak_rss_mib_per_root": {str(k): round(v, 1) for k, v in peak_per_root.items()},
              "peak_disk_mib": round(peak_disk, 1), "samples": samples}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
