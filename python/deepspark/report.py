"""A run report: PNG plots and one HTML page from a run's metrics or log.

    python3 -m deepspark.report RUN [--out DIR]
    deepspark report RUN [--out DIR]        (the same, from the C++ tool)

RUN is a distributed run's PREFIX_metrics.jsonl, a Caffe-format training log
(DeepSpark's or real Caffe's), or a folder holding one (report_logs.find_run).
DIR (default: RUN's folder/report) receives index.html, one PNG per figure and
report.json, which lists what each figure plots and where its plot areas lie
in the image (pixels, origin top left), so that scripts and tests can check
the figures without reading the HTML. Every file is written under a
temporary name and renamed, so a reader never sees half a file.

Plotting is matplotlib's, on its Agg backend (no display needed).
"""
import argparse
import html
import json
import math
import os
import sys

try:
    from . import report_logs as logs
except ImportError:  # loaded by file path (`deepspark report`), not as part of the package
    import importlib.util as _util

    _spec = _util.spec_from_file_location(
        "deepspark_report_logs", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "report_logs.py"))
    logs = _util.module_from_spec(_spec)
    _spec.loader.exec_module(logs)

DPI = 100
CENTER = "black"


def _color(label, index):
    """Workers keep their color in every figure: tab10 by rank."""
    from matplotlib import colormaps
    if label.startswith("center") or label in ("test", "train"):
        return CENTER if label.startswith("center") else ("tab:blue" if label == "train"
                                                          else "tab:red")
    if label.startswith("worker "):
        try:
            index = int(label.split()[1])
        except ValueError:
            pass
    return colormaps["tab10"](index % 10) if label != "all workers" else "dimgray"


def _xy(curve, x):
    """Points of a curve against x ("iter" or "t"), without missing x."""
    pairs = [(a, b) for a, b in zip(curve[x], curve["y"]) if a is not None and b is not None]
    return [a for a, _ in pairs], [b for _, b in pairs]


def _log_scale_fits(curves):
    ys = [y for c in curves for y in c["y"] if y is not None and math.isfinite(y)]
    return bool(ys) and min(ys) > 0 and max(ys) / min(ys) > 30


class Figures:
    """Draws the figures into `out` and records what each one shows."""

    def __init__(self, out):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        self._figure_class, self._canvas_class = Figure, FigureCanvasAgg
        self.out = out
        self.index = {}  # file name -> {"size_px", "axes": [...]}

    def new(self, width, height, rows=1, cols=1):
        fig = self._figure_class(figsize=(width, height), dpi=DPI)
        self._canvas_class(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        return fig, [ax for row in axes for ax in row]

    def save(self, fig, name):
        fig.tight_layout()
        fig.canvas.draw()
        width, height = fig.canvas.get_width_height()
        axes = []
        for ax in fig.axes:
            box = ax.get_window_extent()
            lines = [{"label": line.get_label(), "points": len(line.get_xdata())}
                     for line in ax.get_lines() if not line.get_label().startswith("_")]
            axes.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                         "ylabel": ax.get_ylabel(), "lines": lines,
                         "bbox_px": [round(box.x0), round(height - box.y1), round(box.x1),
                                     round(height - box.y0)]})
        path = os.path.join(self.out, name)
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
        self.index[name] = {"size_px": [width, height], "axes": axes}


def _order(label):
    """Workers by rank, then the rest (the center, totals) in their order."""
    parts = label.split()
    if parts[0] == "worker" and len(parts) > 1 and parts[1].isdigit():
        return (0, int(parts[1]), label)
    return (1, 0, "")


def _plot_curves(ax, curves, x, style=None, marker=None):
    ordered = sorted(curves.items(), key=lambda item: _order(item[0]))
    for i, (label, curve) in enumerate(ordered):
        xs, ys = _xy(curve, x)
        if not xs:
            continue
        kwargs = dict(style or {})
        if label.startswith("center") or label == "test":
            kwargs.setdefault("linewidth", 2.2)
            kwargs.setdefault("marker", marker or "o")
            kwargs.setdefault("markersize", 4)
        else:
            kwargs.setdefault("linewidth", 1.2)
        ax.plot(xs, ys, label=label, color=_color(label, i), **kwargs)


def _axis_labels(ax, x, ylabel, title):
    ax.set_xlabel("iteration" if x == "iter" else "seconds since start")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)


def _legend(ax, count):
    if count:
        ax.legend(fontsize="small", ncol=1 if count <= 5 else 2, framealpha=0.8)


def _accuracy_name(run):
    """The test output shown in the overview: accuracy if there is one."""
    names = list(run.tests)
    for name in names:
        if "acc" in name.lower():
            return name
    non_loss = [n for n in names if "loss" not in n.lower()]
    return (non_loss or names or [None])[0]


def plot_overview(figs, run):
    """The run at a glance: each worker's train loss and the center's accuracy."""
    fig, (ax,) = figs.new(10, 5)
    _plot_curves(ax, run.train_loss, "iter")
    if _log_scale_fits(run.train_loss.values()):
        ax.set_yscale("log")
    who = "each worker's" if run.kind == "distributed" else "the"
    _axis_labels(ax, "iter", "train loss (smoothed)", "")
    name = _accuracy_name(run)
    handles, labels = ax.get_legend_handles_labels()
    labels = [lab if lab.startswith("worker") else f"{lab} loss" for lab in labels]
    if name:
        right = ax.twinx()
        _plot_curves(right, run.tests[name], "iter")
        right.set_ylabel(f"{name} (test)")
        h2, l2 = right.get_legend_handles_labels()
        handles += h2
        labels += [f"{lab} {name}" for lab in l2]
        whose = "center's" if run.kind == "distributed" else "test"
        title = f"The {whose} {name} beside {who} train loss"
    else:
        title = f"Train loss ({who}); no test outputs in this run"
    ax.set_title(title)
    if handles:
        # Beneath the plot: inside it, it would hide curves of one axis or the other.
        ax.legend(handles, labels, fontsize="small", ncol=min(len(labels), 6),
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    figs.save(fig, "overview.png")


def plot_loss(figs, run):
    fig, axes = figs.new(13, 4.6, 1, 2)
    test_loss = {}
    for name, curves in run.tests.items():
        if "loss" in name.lower():
            for label, curve in curves.items():
                test_loss[f"{label} {name}"] = curve
    for ax, x in zip(axes, ("iter", "t")):
        _plot_curves(ax, run.train_loss, x)
        for label, curve in test_loss.items():
            xs, ys = _xy(curve, x)
            ax.plot(xs, ys, label=label, color=CENTER, linestyle="--", marker="o",
                    markersize=3, linewidth=1.8)
        if _log_scale_fits(list(run.train_loss.values()) + list(test_loss.values())):
            ax.set_yscale("log")
        _axis_labels(ax, x, "loss", "Train loss (smoothed)" + (
            " and test loss" if test_loss else "") + (" vs iteration" if x == "iter" else
                                                      " vs seconds"))
        _mark_events(ax, run, x)
        _legend(ax, len(ax.get_lines()))
    figs.save(fig, "loss.png")


def _mark_events(ax, run, x):
    """Rejoins and server restarts as thin vertical lines on time axes."""
    if x != "t":
        return
    for event in run.events:
        if event.get("kind") == "rejoin" or "restarted" in event["text"]:
            ax.axvline(event["t"], color="gray", linestyle=":", linewidth=1)


def plot_tests(figs, run):
    names = list(run.tests)
    if not names:
        return
    fig, axes = figs.new(13, 3.6 * len(names), len(names), 2)
    for row, name in enumerate(names):
        for col, x in enumerate(("iter", "t")):
            ax = axes[row * 2 + col]
            _plot_curves(ax, run.tests[name], x)
            who = "Center" if run.kind == "distributed" else "Test"
            _axis_labels(ax, x, name, f"{who} {name} vs " + ("iteration" if x == "iter"
                                                             else "seconds"))
            _legend(ax, len(ax.get_lines()))
    figs.save(fig, "test.png")


def plot_lr(figs, run):
    if not run.lr:
        return
    fig, (ax,) = figs.new(10, 3.8)
    _plot_curves(ax, run.lr, "iter")
    if _log_scale_fits(run.lr.values()):
        ax.set_yscale("log")
    _axis_labels(ax, "iter", "learning rate", "Learning rate")
    _legend(ax, len(ax.get_lines()))
    figs.save(fig, "lr.png")


def _total(curves):
    """The sum over workers of their latest value, at every sample; a worker
    counts until its last record (a dropped one stops adding)."""
    points = sorted((t, label, y) for label, c in curves.items()
                    for t, y in zip(c["t"], c["y"]) if t is not None)
    ends = {label: max(t for t in c["t"] if t is not None) for label, c in curves.items()
            if any(t is not None for t in c["t"])}
    latest, total = {}, logs.new_curve()
    for t, label, y in points:
        latest[label] = y
        for gone in [k for k in latest if ends[k] < t]:
            del latest[gone]
        total["t"].append(t)
        total["iter"].append(None)
        total["y"].append(sum(latest.values()))
    return total


def plot_speed(figs, run):
    if not run.images_per_sec:
        return
    fig, axes = figs.new(13, 4.2, 1, 2)
    unit = "images/s" if run.kind == "distributed" or run.batch_size else "iterations/s"
    for ax, x in zip(axes, ("iter", "t")):
        _plot_curves(ax, run.images_per_sec, x)
        if x == "t" and len(run.images_per_sec) > 1:
            xs, ys = _xy(_total(run.images_per_sec), "t")
            ax.plot(xs, ys, label="all workers", color="dimgray", linewidth=2)
        ax.set_ylim(bottom=0)
        what = "mean since the worker started" if run.kind == "distributed" else "per display"
        _axis_labels(ax, x, unit, f"Speed, {unit} ({what})")
        _legend(ax, len(ax.get_lines()))
    figs.save(fig, "speed.png")


def plot_exchange(figs, run):
    if not (run.mb_exchanged or run.exchange_ms or run.staleness):
        return
    fig, axes = figs.new(15, 4.2, 1, 3)
    panels = [(run.mb_exchanged, "MB sent + received", "Exchanged with the center (cumulative)"),
              (run.exchange_ms, "ms per exchange", "Exchange time (mean so far)"),
              (run.staleness, "center updates", "Staleness (mean so far)")]
    for ax, (curves, ylabel, title) in zip(axes, panels):
        _plot_curves(ax, curves, "t")
        ax.set_ylim(bottom=0)
        _axis_labels(ax, "t", ylabel, title)
        _mark_events(ax, run, "t")
        _legend(ax, len(ax.get_lines()))
    figs.save(fig, "exchange.png")


# ---------------------------------------------------------------- the page


def write_atomic(path, write):
    """write(tmp) writes the file; it appears under `path` only when whole."""
    tmp = os.path.join(os.path.dirname(path) or ".",
                       f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _last(curve):
    return curve["y"][-1] if curve and curve["y"] else None


def summarize(run):
    """The numbers at the top of the page (and in report.json)."""
    s = {"kind": run.kind, "sources": run.sources}
    workers = sorted({k for k in run.train_loss if k.startswith("worker ")},
                     key=lambda k: int(k.split()[1]) if k.split()[1].isdigit() else 0)
    if workers:
        s["workers"] = len(workers)
    iters = [c["iter"][-1] for c in run.train_loss.values() if c["iter"]]
    if iters:
        s["last_train_iteration"] = max(iters)
    times = [t for group in [run.train_loss] + list(run.tests.values())
             for c in group.values() for t in c["t"] if t is not None]
    if times:
        s["seconds"] = round(max(times), 3)
    if run.end:
        s["center_iteration"] = run.end.get("center_iter")
        s["worker_iterations"] = run.end.get("worker_iters")
    s["final_train_loss"] = {k: _last(run.train_loss[k])
                             for k in sorted(run.train_loss, key=_order)}
    s["final_test"] = {}
    s["best_test"] = {}
    for name, curves in run.tests.items():
        for label, c in curves.items():
            key = f"{label} {name}"
            s["final_test"][key] = {"iteration": c["iter"][-1], "value": c["y"][-1]}
            finite = [(y, i) for y, i in zip(c["y"], c["iter"]) if math.isfinite(y)]
            if finite:
                pick = min(finite) if "loss" in name.lower() else max(finite)
                s["best_test"][key] = {"iteration": pick[1], "value": pick[0]}
    if run.batch_size:
        s["batch_size"] = run.batch_size
    return s


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_html(run, summary, figures):
    e = html.escape
    rows = [("run", "distributed (parameter server and workers)" if run.kind == "distributed"
             else "one process")]
    for key, title in (("workers", "workers"), ("batch_size", "batch size per worker"
                                                if run.kind == "distributed" else "batch size"),
                       ("center_iteration", "center iterations"),
                       ("worker_iterations", "worker iterations, all workers"),
                       ("last_train_iteration", "last train iteration logged"),
                       ("seconds", "seconds")):
        if summary.get(key) is not None:
            rows.append((title, _fmt(summary[key])))
    for key, v in summary["final_test"].items():
        best = summary["best_test"].get(key)
        text = f"{_fmt(v['value'])} at iteration {v['iteration']}"
        if best and best["value"] != v["value"]:
            text += f" (best {_fmt(best['value'])} at {best['iteration']})"
        rows.append((f"final {key}", text))
    for key, v in summary["final_train_loss"].items():
        rows.append((f"last train loss, {key}", _fmt(v)))
    table = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    captions = {
        "overview.png": "Test output of the center (right axis) beside each worker's smoothed "
                        "train loss (left axis), by iteration.",
        "loss.png": "Smoothed train loss (as the solver displays it) and test loss, by "
                    "iteration and by seconds; dotted lines mark rejoins and restarts.",
        "test.png": "Every test output, by iteration and by seconds.",
        "lr.png": "The learning rate each worker's solver used.",
        "speed.png": "Training speed; in distributed runs each worker's mean since it "
                     "started, and their sum.",
        "exchange.png": "Traffic with the center, time per exchange and staleness (how many "
                        "center updates a worker's copy was behind), per worker.",
    }
    images = "\n".join(
        f'<figure><img src="{e(name)}" alt="{e(name)}"><figcaption>{e(captions.get(name, ""))}'
        f"</figcaption></figure>" for name in figures)
    notes = "".join(f"<li>{e(n)}</li>" for n in run.notes)
    events = "".join(f"<tr><td>{e(_fmt(round(ev['t'], 2)))}</td><td>{e(ev['text'])}</td></tr>"
                     for ev in run.events[:200])
    sources = "".join(f"<li><code>{e(p)}</code></li>" for p in run.sources)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DeepSpark run report</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
th, td {{ text-align: left; padding: 0.2em 1em 0.2em 0; border-bottom: 1px solid #ddd; }}
img {{ max-width: 100%; border: 1px solid #ccc; }}
figure {{ margin: 1.5em 0; }} figcaption {{ color: #555; }}
</style></head><body>
<h1>DeepSpark run report</h1>
<table>{table}</table>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
{images}
{f"<h2>Events</h2><table><tr><th>seconds</th><th>event</th></tr>{events}</table>"
 if events else ""}
<h2>Read from</h2><ul>{sources}</ul>
</body></html>
"""


def write_report(run, out):
    """Writes every figure, index.html and report.json into `out`."""
    os.makedirs(out, exist_ok=True)
    figs = Figures(out)
    plot_overview(figs, run)
    plot_loss(figs, run)
    plot_tests(figs, run)
    plot_lr(figs, run)
    plot_speed(figs, run)
    plot_exchange(figs, run)
    summary = summarize(run)
    plotted = {
        "summary": summary,
        "notes": run.notes,
        "figures": figs.index,
        "series": {
            "train_loss": {k: len(c["y"]) for k, c in run.train_loss.items()},
            "tests": {n: {k: len(c["y"]) for k, c in cs.items()} for n, cs in run.tests.items()},
            "lr": {k: len(c["y"]) for k, c in run.lr.items()},
            "images_per_sec": {k: len(c["y"]) for k, c in run.images_per_sec.items()},
            "mb_exchanged": {k: len(c["y"]) for k, c in run.mb_exchanged.items()},
            "staleness": {k: len(c["y"]) for k, c in run.staleness.items()},
        },
    }
    page = render_html(run, summary, list(figs.index))

    def write_text(text):
        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
        return write
    write_atomic(os.path.join(out, "report.json"),
                 write_text(json.dumps(plotted, indent=1, allow_nan=True, default=str)))
    write_atomic(os.path.join(out, "index.html"), write_text(page))
    return os.path.join(out, "index.html")


def default_out(run_path):
    folder = run_path if os.path.isdir(run_path) else (os.path.dirname(run_path) or ".")
    return os.path.join(folder, "report")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="deepspark report",
        description="PNG plots and an HTML page of a run: train loss and test outputs vs "
                    "iteration and seconds (per worker and the center), learning rate, "
                    "images/s, exchange bytes and staleness.")
    parser.add_argument("run", help="a PREFIX_metrics.jsonl, a Caffe-format log, or a folder "
                                    "holding one")
    parser.add_argument("--out", help="output folder (default: RUN's folder/report)")
    args = parser.parse_args(argv)
    try:
        import matplotlib
    except ImportError:
        print(f"deepspark report: error: matplotlib is not installed for {sys.executable}; "
              f"install it with `{sys.executable} -m pip install matplotlib` "
              "(scripts/install-deps.sh does)", file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    try:
        run = logs.find_run(args.run)
        if run.is_empty():
            raise logs.ReportError(f"{args.run}: nothing to plot (no train loss, test outputs "
                                   "or speed records)")
        index = write_report(run, args.out or default_out(args.run))
    except (logs.ReportError, OSError) as err:
        print(f"deepspark report: error: {err}", file=sys.stderr)
        return 1
    print(f"Report: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
