#!/usr/bin/env python3
"""The table scripts/gpu-check.sh prints last and writes to $OUT/table.md.

  gpu_check_table.py OUT QUERY_RC TESTS_RC

Reads, under OUT: device-query.txt, gpu-tests.json (GoogleTest's report) and
bench.jsonl (the LeNet run and the step timings, one JSON object a line:
"engine" is deepspark, deepspark-lenet or pytorch). Plain Python: the GPU
machine's python3 may lack everything but the standard library.
"""
import json
import os
import sys

# The nets in the order of issue 9, with their batches.
NETS = [("lenet", 64), ("cifar10_quick", 100), ("alexnet", 128), ("resnet50", 32)]


def read_jsonl(path):
    records = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return records


def tests_table(out, tests_rc):
    """The tests that did not pass, one row each (every test's result is in
    gpu-tests.json), then the counts."""
    rows = []
    counts = {}
    try:
        with open(os.path.join(out, "gpu-tests.json")) as f:
            report = json.load(f)
        for suite in report.get("testsuites", []):
            for t in suite.get("testsuite", []):
                if t.get("failures"):
                    result = "FAILED"
                elif t.get("result") == "SKIPPED":
                    result = "SKIPPED"
                else:
                    result = "passed"
                counts[result] = counts.get(result, 0) + 1
                if result != "passed":
                    ms = float(t.get("time", "0s").rstrip("s")) * 1000
                    rows.append((result, "| %s.%s | %s | %.0f |" % (suite["name"], t["name"],
                                                                   result, ms)))
    except (OSError, ValueError) as e:
        rows.append(("FAILED", "| (no test report: %s) | FAILED | |" % e))
        counts["FAILED"] = 1
    if rows:
        print("| test (not passed) | result | ms |")
        print("| --- | --- | --- |")
        for _, row in sorted(rows):  # FAILED before SKIPPED
            print(row)
    print()
    print("tests: " + ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items()))
          + " (exit %d)" % tests_rc)


NOTES = []  # why cells are empty, printed under the table as [1], [2]...


def ms(record):
    """'12.34' for a timing, or a note saying why there is none."""
    if record is not None and "ms" in record:
        return "%.2f" % record["ms"]
    if record is not None and "median_ms" in record:
        return "%.2f" % record["median_ms"]
    why = "not run" if record is None else (
        record.get("error") or record.get("skipped") or "no result")
    if why not in NOTES:
        NOTES.append(why)
    return "[%d]" % (NOTES.index(why) + 1)


def ratio(slow, fast):
    """slow / fast as '2.50x', where both are timings."""
    try:
        a = slow.get("ms", slow.get("median_ms"))
        b = fast.get("ms", fast.get("median_ms"))
        return "%.2fx" % (a / b) if a and b else "-"
    except AttributeError:
        return "-"


def lenet_line(records):
    runs = [r for r in records if r.get("engine") == "deepspark-lenet"]
    if not runs:
        return "LeNet on MNIST to 10,000 iterations (GPU): not run"
    r = runs[-1]
    accuracy = r.get("accuracy")
    text = "LeNet on MNIST to 10,000 iterations (GPU): reached iteration %s of 10000 in %s s" % (
        r.get("iteration", "?"), r.get("seconds", "?"))
    if accuracy is not None:
        text += "; test accuracy %.4f (at iteration %s)" % (accuracy, r.get("tested_at", "?"))
    else:
        text += "; no test accuracy"
    if r.get("error"):
        text += "; " + r["error"]
    return text


def bench_table(records):
    def find(engine, net, mode):
        found = [r for r in records
                 if r.get("engine") == engine and r.get("net") == net and r.get("mode") == mode]
        if found:
            return found[-1]
        # A whole-run failure (no torch, no CUDA) stands for every row.
        failed = [r for r in records if r.get("engine") == engine and "net" not in r]
        return failed[-1] if failed else None

    print("| net | batch | DeepSpark fwd+bwd ms | DeepSpark step ms | PyTorch eager fwd+bwd ms "
          "| PyTorch eager step ms | PyTorch graphs step ms | vs eager fwd+bwd "
          "| vs eager step | vs graphs step |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for net, batch in NETS:
        ds_fb = find("deepspark", net, "time")
        ds_step = find("deepspark", net, "train")
        pt_fb = find("pytorch", net, "eager_fb")
        pt_step = find("pytorch", net, "eager")
        pt_graphs = find("pytorch", net, "graphs")
        print("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            net, batch, ms(ds_fb), ms(ds_step), ms(pt_fb), ms(pt_step), ms(pt_graphs),
            ratio(pt_fb, ds_fb), ratio(pt_step, ds_step), ratio(pt_graphs, ds_step)))
    torch_versions = sorted({r["torch"] for r in records if r.get("torch")})
    print()
    for i, why in enumerate(NOTES):
        print("[%d] %s" % (i + 1, why))
    if NOTES:
        print()
    print("DeepSpark fwd+bwd: `deepspark time --gpu=0` (Caffe's `caffe time`: forward and "
          "backward, no update), mean ms. DeepSpark step: `deepspark train --gpu=0` on the same "
          "net (forward, backward, SGD momentum update), from the solver's last iter/s. "
          "PyTorch (%s, FP32, cuDNN benchmark on): bench/peers/torch_steps.py, median ms. "
          "vs: PyTorch ms / DeepSpark ms (above 1: DeepSpark faster); the step columns "
          "compare DeepSpark's step." % (", ".join(torch_versions) or "not run"))


def main():
    out, query_rc, tests_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    name = "none"
    try:
        with open(os.path.join(out, "device-query.txt")) as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    print("GPU: %s (device-query exit %d)" % (name, query_rc))
    print()
    tests_table(out, tests_rc)
    records = read_jsonl(os.path.join(out, "bench.jsonl"))
    print()
    print(lenet_line(records))
    print()
    bench_table(records)


if __name__ == "__main__":
    main()
