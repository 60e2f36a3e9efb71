"""Reading what a training run leaves behind, for deepspark.report.

Three kinds of record are understood:

- PREFIX_metrics.jsonl, written by the parameter server of a distributed run
  (`deepspark train --workers N`, `deepspark server`, deepspark.spark): one JSON
  object a line: worker records (t, worker, iter, smoothed loss, images_per_sec,
  exchange_ms, staleness, bytes_sent, bytes_received), center tests (t,
  center_iter, test_net, {output: value}) and events (join, rejoin, target, end).
  The workers' own logs (PREFIX_job/worker_N.log) add the learning rate.
- A Caffe-format log (glog lines): what `deepspark train` prints in one
  process, what real Caffe prints (the lines Caffe's tools/extra/parse_log.py
  reads), and the console log of a distributed run (center tests and the
  server's progress lines).
- A folder holding either (the newest metrics file, else the newest log).

Everything here is the standard library only, so that the module also loads
without the compiled package (`deepspark report` loads it by path).
"""
import glob
import json
import os
import re

# One curve: x as iterations and as seconds since the run started, and y.
# A run holds curves by figure and label ("worker 0", "center", "train").


def new_curve():
    return {"iter": [], "t": [], "y": []}


def add_point(curves, label, iteration, seconds, value):
    curve = curves.setdefault(label, new_curve())
    curve["iter"].append(iteration)
    curve["t"].append(seconds)
    curve["y"].append(value)


class Run:
    """What was found: curves by quantity, events, notes and the files read."""

    def __init__(self, kind, sources):
        self.kind = kind  # "distributed" or "single"
        self.sources = [os.path.abspath(p) for p in sources]
        self.train_loss = {}  # label -> curve (smoothed loss, as the solver displays it)
        self.tests = {}  # output name -> {label -> curve}
        self.lr = {}  # label -> curve
        self.images_per_sec = {}  # label -> curve
        self.mb_exchanged = {}  # label -> curve: MB sent + received, cumulative
        self.exchange_ms = {}  # label -> curve: mean ms per exchange so far
        self.staleness = {}  # label -> curve: mean staleness (center updates) so far
        self.events = []  # {"t": seconds, "text": ...}
        self.notes = []  # said on the page: what was left out or assumed
        self.batch_size = None
        self.end = None  # the metrics' end event, if the run finished

    def is_empty(self):
        return not (self.train_loss or self.tests or self.images_per_sec)


class ReportError(Exception):
    """RUN cannot be reported: the message says why and what was looked for."""


# ---------------------------------------------------------------- metrics.jsonl


def _read_jsonl(path, notes):
    records, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                bad += 1  # a line cut short by a kill, say
                continue
            if isinstance(rec, dict) and isinstance(rec.get("t"), (int, float)):
                records.append(rec)
            else:
                bad += 1
    if bad:
        notes.append(f"{bad} line(s) of {os.path.basename(path)} were not metrics records "
                     "and were skipped")
    return records


def _last_run(records, notes):
    """The records of the last run in the file: a rerun with the same prefix
    appends to it, after the previous run's end event."""
    runs, current = [], []
    for rec in records:
        current.append(rec)
        if rec.get("event") == "end":
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    useful = [r for r in runs if any("worker" in x or "center_iter" in x for x in r)]
    if not useful:
        return []
    if len(useful) > 1:
        notes.append(f"the file holds {len(useful)} runs (a rerun appends to it); "
                     "this report is of the last")
    return useful[-1]


_TEST_KEYS = {"t", "center_iter", "test_net"}


def _counter(offsets, last, key, value):
    """A cumulative counter that restarts at 0 when its process restarts,
    made cumulative over the whole run."""
    if value < last.get(key, 0):
        offsets[key] = offsets.get(key, 0) + last[key]
    last[key] = value
    return value + offsets.get(key, 0)


def read_metrics(path):
    """A Run from a metrics .jsonl file (and its workers' logs, if present)."""
    run = Run("distributed", [path])
    records = _last_run(_read_jsonl(path, run.notes), run.notes)
    if not records:
        raise ReportError(f"{path} holds no worker or center records "
                          "(is it the metrics file of a run that started?)")
    # A server restarted from its snapshot starts its clock again: seconds
    # are carried on from where the previous server stopped.
    offset, latest = 0.0, 0.0
    counter_offsets, counter_last = {}, {}
    for rec in records:
        t = float(rec["t"]) + offset
        if t < latest - 1.0:
            offset = latest
            t = float(rec["t"]) + offset
            run.events.append({"t": t, "text": "the server restarted (from its snapshot)"})
        latest = max(latest, t)
        event = rec.get("event")
        if event is not None:
            _metrics_event(run, rec, event, t)
        elif "worker" in rec:
            _metrics_worker(run, rec, t, counter_offsets, counter_last)
        elif "center_iter" in rec:
            net = int(rec.get("test_net", 0))
            for name, value in rec.items():
                if name in _TEST_KEYS or not isinstance(value, (int, float)):
                    continue
                label = "center" if net == 0 else f"center, test net #{net}"
                add_point(run.tests.setdefault(name, {}), label, int(rec["center_iter"]), t,
                          float(value))
    _read_worker_logs(run, path)
    return run


def _metrics_event(run, rec, event, t):
    if event in ("join", "rejoin"):
        run.events.append({"t": t, "text": f"worker {rec.get('worker')} {event}ed at "
                                           f"iteration {rec.get('iter')}", "kind": event})
    elif event == "target":
        run.events.append({"t": t, "text": f"target accuracy {rec.get('accuracy'):.4g} reached "
                                           f"at center iteration {rec.get('center_iter')}"})
    elif event == "end":
        run.end = dict(rec, t=t)
        run.events.append({"t": t, "text": f"end: center iteration {rec.get('center_iter')}, "
                                           f"{rec.get('worker_iters')} worker iterations"})
    else:
        run.events.append({"t": t, "text": f"{event}"})


def _metrics_worker(run, rec, t, counter_offsets, counter_last):
    rank = rec["worker"]
    label = f"worker {rank}"
    it = int(rec.get("iter", 0))
    ips = float(rec.get("images_per_sec", 0) or 0)
    # A worker's first heartbeats come before its first step: no loss yet.
    stepped = ips > 0 or float(rec.get("loss", 0) or 0) != 0
    if stepped:
        add_point(run.train_loss, label, it, t, float(rec.get("loss", 0)))
        add_point(run.images_per_sec, label, it, t, ips)
    if int(rec.get("exchanges", 0) or 0) > 0:
        add_point(run.exchange_ms, label, it, t, float(rec.get("exchange_ms", 0)))
        add_point(run.staleness, label, it, t, float(rec.get("staleness", 0)))
    last = counter_last.setdefault(rank, {})
    offsets = counter_offsets.setdefault(rank, {})
    sent = _counter(offsets, last, "sent", float(rec.get("bytes_sent", 0) or 0))
    received = _counter(offsets, last, "received", float(rec.get("bytes_received", 0) or 0))
    add_point(run.mb_exchanged, label, it, t, (sent + received) / 1e6)


def _read_worker_logs(run, metrics_path):
    """The learning rate, from the workers' own logs beside the metrics."""
    base = metrics_path[:-len("_metrics.jsonl")] if metrics_path.endswith(
        "_metrics.jsonl") else None
    if not base or not os.path.isdir(base + "_job"):
        run.notes.append("no workers' logs beside the metrics (PREFIX_job/worker_N.log): "
                         "no learning-rate curve")
        return
    logs = sorted(glob.glob(os.path.join(base + "_job", "worker_*.log")),
                  key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
    for log in logs:
        rank = re.sub(r"\D", "", os.path.basename(log))
        single = read_caffe_log(log, allow_empty=True)
        for curve in single.lr.values():
            run.lr[f"worker {rank}"] = curve
        if run.batch_size is None:
            run.batch_size = single.batch_size
        run.sources.append(os.path.abspath(log))
    # One schedule for all (the usual case) is drawn once.
    curves = list(run.lr.values())
    if len(curves) > 1 and all(c["iter"] == curves[0]["iter"] and c["y"] == curves[0]["y"]
                               for c in curves):
        run.lr = {"all workers": curves[0]}


# ---------------------------------------------------------------- Caffe-format logs

_NUM = r"([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan|-nan))"
_RE_STAMP = re.compile(r"^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d(?:\.\d+)?)")
_RE_LOSS = re.compile(r"\bIteration (\d+)(?: \(" + _NUM + r" iter/s[^)]*\))?, loss = " + _NUM)
_RE_LR = re.compile(r"\bIteration (\d+), lr = " + _NUM)
_RE_TESTING = re.compile(r"\b(Center )?[Ii]teration (\d+), Testing net \(#(\d+)\)")
_RE_TEST_OUT = re.compile(r"\b(Center )?[Tt]est net output #(\d+): (\S+) = " + _NUM)
_RE_TRAIN_NET = re.compile(r"Creating training net|\(phase TRAIN\)")
_RE_TOP_SHAPE = re.compile(r"Top shape(?: of \S+ -> \S+)?: (\d+) ")
_RE_PROGRESS = re.compile(r"\[\s*(\d+(?:\.\d+)?)s\] center iter (\d+)/\d+")
_RE_PROGRESS_WORKER = re.compile(r"\| w(\d+) it (\d+) loss " + _NUM + " " + _NUM + " img/s")
_DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


def _stamp_seconds(match):
    """glog's MMDD HH:MM:SS.micro as seconds in a (leap-free) year."""
    month, day, hour, minute = (int(match.group(i)) for i in range(1, 5))
    days = _DAYS_BEFORE_MONTH[max(0, min(month, 12) - 1)] + day - 1
    return ((days * 24 + hour) * 60 + minute) * 60 + float(match.group(5))


def _number(text):
    try:
        return float(text)
    except ValueError:
        return float("nan")


def is_caffe_log(path, limit=4 << 20):
    """Whether a file reads as a training log (solver or server lines)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(limit)
    except OSError:
        return False
    return bool(_RE_LOSS.search(head) or _RE_TEST_OUT.search(head) or
                _RE_PROGRESS.search(head))


class _Clock:
    """Seconds since the log's first time stamp; a new year is carried over."""

    def __init__(self):
        self.first = None
        self.last = None
        self.wrap = 0.0

    def seconds(self, line):
        m = _RE_STAMP.match(line)
        if not m:
            return self.last - self.first if self.last is not None else None
        s = _stamp_seconds(m) + self.wrap
        if self.last is not None and s < self.last - 86400:
            self.wrap += 365 * 86400
            s += 365 * 86400
        if self.first is None:
            self.first = s
        self.last = s
        return s - self.first


def read_caffe_log(path, allow_empty=False):
    """A Run from a glog-format log: DeepSpark's or Caffe's solver lines, or
    the console of a distributed run (center tests, progress lines)."""
    run = Run("single", [path])
    clock = _Clock()
    test_iter, test_net, center = None, 0, False
    in_train_net = False
    iter_per_s = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            t = clock.seconds(line)
            if "Iteration" in line or "iteration" in line:
                m = _RE_LOSS.search(line)
                if m:
                    it = int(m.group(1))
                    curve = run.train_loss.get("train")
                    if not (curve and curve["iter"][-1] == it):  # Caffe repeats the last
                        add_point(run.train_loss, "train", it, t, _number(m.group(3)))
                    if m.group(2) is not None and it > 0:
                        iter_per_s[it] = (t, _number(m.group(2)))
                    continue
                m = _RE_LR.search(line)
                if m:
                    add_point(run.lr, "train", int(m.group(1)), t, _number(m.group(2)))
                    continue
                m = _RE_TESTING.search(line)
                if m:
                    center = bool(m.group(1))
                    test_iter, test_net = int(m.group(2)), int(m.group(3))
                    continue
            m = _RE_TEST_OUT.search(line) if "est net output" in line else None
            if m and test_iter is not None:
                center = center or bool(m.group(1))
                who = "center" if center else "test"
                label = who if test_net == 0 else f"{who}, test net #{test_net}"
                add_point(run.tests.setdefault(m.group(3), {}), label, test_iter, t,
                          _number(m.group(4)))
                continue
            if "center iter" in line:
                _progress_line(run, line)
                continue
            if run.batch_size is None:
                if _RE_TRAIN_NET.search(line):
                    in_train_net = True
                elif in_train_net:
                    m = _RE_TOP_SHAPE.search(line)
                    if m:
                        run.batch_size = int(m.group(1))
    if any(label == "center" or label.startswith("center,")
           for curves in run.tests.values() for label in curves) or \
            any(k.startswith("worker") for k in run.train_loss):
        run.kind = "distributed"
    if iter_per_s:
        label = "train"
        for it in sorted(iter_per_s):
            t, rate = iter_per_s[it]
            if run.batch_size:
                add_point(run.images_per_sec, label, it, t, rate * run.batch_size)
            else:
                add_point(run.images_per_sec, label, it, t, rate)
        if not run.batch_size:
            run.notes.append("no batch size found in the log (the train net's first top "
                             "shape): the speed plot shows iterations/s, not images/s")
    if run.is_empty() and not allow_empty:
        raise ReportError(f"{path}: no training lines found (Caffe-format 'Iteration N ... "
                          "loss = X', 'Test net output #K: NAME = X' lines, or a distributed "
                          "run's metrics .jsonl)")
    return run


def _progress_line(run, line):
    """The server's progress line of a distributed console log:
    "[  5s] center iter 160/10000 ETA 313s | w0 it 157 loss 0.266 2206 img/s | ..."."""
    m = _RE_PROGRESS.search(line)
    if not m:
        return
    t = float(m.group(1))
    for w in _RE_PROGRESS_WORKER.finditer(line):
        label = f"worker {w.group(1)}"
        it, loss, ips = int(w.group(2)), _number(w.group(3)), _number(w.group(4))
        if ips > 0:
            add_point(run.train_loss, label, it, t, loss)
            add_point(run.images_per_sec, label, it, t, ips)


# ---------------------------------------------------------------- RUN: a file or a folder

def _newest(paths):
    return max(paths, key=lambda p: (os.path.getmtime(p), p)) if paths else None


def find_run(path):
    """The Run at `path`: a metrics .jsonl, a Caffe-format log, or a folder
    holding either (searched two levels down; the newest metrics file wins,
    else the newest training log)."""
    if not os.path.exists(path):
        raise ReportError(f"{path}: no such file or folder")
    if os.path.isfile(path):
        if path.endswith(".jsonl"):
            return read_metrics(path)
        return read_caffe_log(path)
    metrics, logs = [], []
    for depth in ("", "*", os.path.join("*", "*")):
        metrics += glob.glob(os.path.join(path, depth, "*_metrics.jsonl"))
        for ext in ("*.log", "*.txt", "*.out", "*.err"):
            logs += [p for p in glob.glob(os.path.join(path, depth, ext))
                     if not os.path.basename(os.path.dirname(p)).endswith("_job")]
    logs = [p for p in logs if not metrics and is_caffe_log(p)]
    for found, what, read in ((metrics, "metrics files", read_metrics),
                              (logs, "training logs", read_caffe_log)):
        if found:
            chosen = _newest(found)
            run = read(chosen)
            if len(found) > 1:
                run.notes.append(f"{len(found)} {what} under {path}; reported the newest, "
                                 f"{os.path.relpath(chosen, path)}")
            return run
    raise ReportError(f"{path}: no run found (looked for PREFIX_metrics.jsonl and Caffe-format "
                      "logs *.log/*.txt, two folders down); pass the metrics file or the log "
                      "(`deepspark train ... 2> train.log` keeps one)")
