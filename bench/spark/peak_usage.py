#!/usr/bin/env python3
"""Samples what a Spark job's executors use until stopped (SIGTERM/SIGINT):

    peak_usage.py --out usage.json --root-pid P [--root-pid Q ...] [--disk DIR ...]

Every 0.25 s it sums the memory of all processes below each root (a Spark
Worker daemon: its executor JVMs, their Python workers and the DeepSpark
workers they start; the roots themselves are left out) and the space files
take under each --disk folder (allocated blocks, so a sparse LMDB map counts
what it holds). Memory is the proportional set size (PSS, from
/proc/PID/smaps_rollup): pages shared by several processes are split among
them, so the Python workers that pyspark's daemon forks are not counted
once each for the pages they share. At the end it writes the peaks as JSON:
total and per-root peak PSS (MiB), the peaks of the JVMs alone and of the
other processes alone (Python and DeepSpark workers), peak disk (MiB),
samples. Linux only.
"""
import argparse
import json
import os
import signal
import time


def children():
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


def pss_mib(pid):
    """The process's proportional set size in MiB (0 once it has gone)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def descendants(tree, root):
    out, stack = [], list(tree.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(tree.get(pid, []))
    return out


def _is_jvm(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].endswith(b"java")
    except OSError:
        return False


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
    peak_jvm, peak_others = 0.0, 0.0
    while not stop:
        tree = children()
        total = jvm = 0.0
        for root in args.root_pid:
            pss = 0.0
            for pid in descendants(tree, root):
                mib = pss_mib(pid)
                pss += mib
                jvm += mib if _is_jvm(pid) else 0.0
            peak_per_root[root] = max(peak_per_root.get(root, 0.0), pss)
            total += pss
        peak_total = max(peak_total, total)
        peak_jvm, peak_others = max(peak_jvm, jvm), max(peak_others, total - jvm)
        if args.disk:
            peak_disk = max(peak_disk, sum(_disk_mib(d) for d in args.disk))
        samples += 1
        time.sleep(args.interval)
    result = {"peak_pss_mib": round(peak_total, 1),
              "peak_pss_mib_per_root": {str(k): round(v, 1) for k, v in peak_per_root.items()},
              "peak_pss_mib_jvms": round(peak_jvm, 1),
              "peak_pss_mib_python_and_workers": round(peak_others, 1),
              "peak_disk_mib": round(peak_disk, 1), "samples": samples}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
