"""The emulated cluster of bench/cluster: a 2-node DeepSpark job in a private
network namespace with cgroup CPU quotas and shaped links, and nothing left
behind afterwards. Skips (saying why) where the machine cannot emulate:
not root, no `unshare`/`tc`, no writable cgroup-v1 cpu controller."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "bench", "cluster"))
import cluster  # noqa: E402

REASON = cluster.why_not()


def deepspark_groups():
    return sorted(n for n in os.listdir(cluster.CGROUP_CPU) if n.startswith(cluster.GROUP_PREFIX))


@pytest.mark.skipif(REASON is not None, reason=f"no emulated cluster here: {REASON}")
def test_smoke_job_runs_and_cleans_up():
    before = deepspark_groups()
    run = subprocess.run([sys.executable, os.path.join(REPO, "bench", "cluster", "cluster.py"),
                          "smoke"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["center_iter"] == 200
    assert result["accuracy"] >= 0.8
    assert deepspark_groups() == before
    # No process of the job survives it (each ran in the node's cgroup).
    procs = subprocess.run(["pgrep", "-f", "deepspark-cluster-smoke"], capture_output=True,
                           text=True)
    assert procs.stdout.strip() == ""


@pytest.mark.skipif(REASON is not None, reason=f"no emulated cluster here: {REASON}")
def test_interrupted_harness_leaves_nothing():
    # SIGTERM in the middle of a job: the harness kills its nodes' processes
    # and removes its cgroups on the way out.
    before = deepspark_groups()
    p = subprocess.Popen([sys.executable, os.path.join(REPO, "bench", "cluster", "cluster.py"),
                          "smoke"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import time
    deadline = time.time() + 60
    while time.time() < deadline and deepspark_groups() == before:
        time.sleep(0.05)
    p.terminate()
    p.wait(timeout=60)
    assert deepspark_groups() == before


def spark_reason():
    if REASON:
        return f"no emulated cluster here: {REASON}"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    if subprocess.run(["sh", "-c", "command -v java"], capture_output=True).returncode != 0:
        return "no java for Spark"
    return None


@pytest.mark.skipif(spark_reason() is not None, reason=str(spark_reason()))
def test_spark_standalone_cluster_on_the_nodes():
    # A Spark master and two Spark Workers started as nodes of the harness
    # run a short DeepSpark job; their executors' DeepSpark workers run in
    # the nodes' cgroups, and nothing is left afterwards.
    before = deepspark_groups()
    run = subprocess.run([sys.executable, os.path.join(REPO, "bench", "cluster", "cluster.py"),
                          "spark-smoke"], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["master"].startswith("spark://127.0.1.")
    assert result["ok"] and result["accuracy"] >= 0.9
    assert deepspark_groups() == before
