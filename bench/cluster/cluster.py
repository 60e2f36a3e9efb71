#!/usr/bin/env python3
"""An emulated cluster on one machine: nodes with their own CPU share and link.

Every node is an address 127.0.1.<i> inside one private network namespace
(`unshare -n`: its own loopback, nothing leaves it) and a cgroup-v1 cpu group
with a CFS quota of C cores. Its link is shaped on the loopback with traffic
control: htb classes of B Mbit/s with u32 filters on the source and
destination addresses (deepspark worker --source-address makes a worker's
connections leave from its address): what a server node sends and receives
is capped at its B in each direction, and so is each worker's share of it
(Cluster._shape_links says how, and what it cannot do). Traffic a node sends
to itself (the server's tester pulling its own shards) is not shaped. Latency and loss are not
emulated here (netem is not available): the in-process network of the tests
injects those.

Use as a library (scaling.py, capacity.py) or from the command line:

  bench/cluster/cluster.py check            # can this machine emulate? (exit 0 / 1)
  bench/cluster/cluster.py smoke [--keep]   # a 2-node DeepSpark job on it
  bench/cluster/cluster.py spark-smoke      # the same through a Spark standalone
                                            # cluster on the nodes (start_spark)

Needs root, `unshare`, `tc` and a writable /sys/fs/cgroup/cpu. Everything it
makes (cgroups, processes; the namespace dies with the last of them) is
removed on exit, on an exception, and on SIGINT/SIGTERM; groups left by a
harness that was killed outright are removed at the next start.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CGROUP_CPU = "/sys/fs/cgroup/cpu"
GROUP_PREFIX = "deepspark-cluster-"
NETNS_MARK = "DEEPSPARK_CLUSTER_NETNS"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "deepspark")


def why_not():
    """None if this machine can emulate a cluster, else the reason."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc, cgroups)"
    for tool in ("unshare", "tc", "ip"):
        if not shutil.which(tool):
            return f"needs `{tool}`"
    if not os.access(os.path.join(CGROUP_CPU, "cgroup.procs"), os.W_OK):
        return f"needs a writable cgroup-v1 cpu controller at {CGROUP_CPU}"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "unshare -n failed: " + probe.stderr.strip()
    return None


def enter_private_netns():
    """Re-executes this program in a private network namespace (once)."""
    if os.environ.get(NETNS_MARK) == "1":
        return
    env = dict(os.environ, **{NETNS_MARK: "1"})
    os.execvpe("unshare", ["unshare", "-n", "--", sys.executable] + sys.argv, env)


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True)


def remove_stale_groups():
    """Groups of harnesses that died without cleaning up (their pid is gone)."""
    for name in os.listdir(CGROUP_CPU):
        if not name.startswith(GROUP_PREFIX):
            continue
        pid = name[len(GROUP_PREFIX):]
        if pid.isdigit() and os.path.exists(f"/proc/{pid}"):
            continue
        remove_group(os.path.join(CGROUP_CPU, name))


def group_tasks(path):
    tasks = []
    for dirpath, _, files in os.walk(path):
        if "tasks" in files:
            with open(os.path.join(dirpath, "tasks")) as f:
                tasks += [int(t) for t in f.read().split()]
    return tasks


def remove_group(path):
    """Kills what runs in a cgroup tree, then removes it (deepest first)."""
    for _ in range(50):
        tasks = group_tasks(path)
        if not tasks:
            break
        for t in tasks:
            try:
                os.kill(t, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    for dirpath, _, _ in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(dirpath)
        except FileNotFoundError:
            pass


class Node:
    def __init__(self, name, index, cpus, mbit):
        self.name, self.index, self.cpus, self.mbit = name, index, cpus, mbit
        self.address = f"127.0.1.{index}"
        self.group = None


class Cluster:
    """Nodes with CPU quotas and shaped links; processes started in them.

    with Cluster([("server", 1.0, 1000), ("w0", 0.2, 1000)]) as c:
        p = c.start("w0", ["deepspark", "worker", ...], "w0.log")
    """

    def __init__(self, nodes, hubs=("server",), burst_kb=64):
        if os.environ.get(NETNS_MARK) != "1":
            raise RuntimeError("call cluster.enter_private_netns() first (it re-executes the "
                               "program inside a private network namespace)")
        self.nodes = {name: Node(name, i + 1, cpus, mbit)
                      for i, (name, cpus, mbit) in enumerate(nodes)}
        self.burst_kb = burst_kb
        self.hubs = [h for h in hubs if h in self.nodes]
        self.root = os.path.join(CGROUP_CPU, f"{GROUP_PREFIX}{os.getpid()}")
        self.procs = []

    # -- set-up and tear-down ------------------------------------------------
    def __enter__(self):
        remove_stale_groups()
        self._old_handlers = {s: signal.signal(s, self._on_signal)
                              for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            os.mkdir(self.root)
            for node in self.nodes.values():
                node.group = os.path.join(self.root, node.name)
                os.mkdir(node.group)
                with open(os.path.join(node.group, "cpu.cfs_period_us"), "w") as f:
                    f.write("100000")
                with open(os.path.join(node.group, "cpu.cfs_quota_us"), "w") as f:
                    f.write(str(max(1000, int(node.cpus * 100000))))
            self._shape_links()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def _shape_links(self):
        """htb classes on the loopback's egress (every packet passes it once).

        Without tc actions (no policing, no ifb) a packet can be counted
        against one class and its parents only, so the links are shaped for a
        star around the hub nodes (the servers), as DeepSpark's traffic is:
        what enters hub H sits under H's downlink class (its children: one per
        sender, capped at the sender's rate) and what leaves H under its
        uplink class (children per receiver, capped at the receiver's rate).
        Anything else is capped at its sender's rate; a node's traffic to
        itself is not shaped.
        """
        run("ip", "link", "set", "lo", "up")
        run("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1")
        run("tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb",
            "rate", "100gbit")
        burst = f"{self.burst_kb}k"
        minor = [0x10]

        def new_class(parent, mbit, ceil_mbit):
            cls = f"1:{minor[0]:x}"
            minor[0] += 1
            run("tc", "class", "add", "dev", "lo", "parent", parent, "classid", cls, "htb",
                "rate", f"{mbit}mbit", "ceil", f"{ceil_mbit}mbit", "burst", burst,
                "cburst", burst)
            return cls

        def route(src, dst, cls, prio):
            match = []
            if src:
                match += ["match", "ip", "src", f"{src.address}/32"]
            if dst:
                match += ["match", "ip", "dst", f"{dst.address}/32"]
            run("tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio",
                str(prio), "u32", *match, "flowid", cls)

        nodes = list(self.nodes.values())
        for node in nodes:
            route(node, node, "1:1", 1)
        for hub in (self.nodes[h] for h in self.hubs):
            others = [n for n in nodes if n is not hub]
            down = new_class("1:", hub.mbit, hub.mbit)
            up = new_class("1:", hub.mbit, hub.mbit)
            share = max(1, hub.mbit // max(1, len(others)))
            for other in others:
                route(other, hub, new_class(down, share, min(other.mbit, hub.mbit)), 2)
                route(hub, other, new_class(up, share, min(other.mbit, hub.mbit)), 2)
        for node in nodes:
            route(node, None, new_class("1:", node.mbit, node.mbit), 3)

    def __exit__(self, exc_type, exc, tb):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if os.path.isdir(self.root):
            remove_group(self.root)
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
        for s, h in getattr(self, "_old_handlers", {}).items():
            signal.signal(s, h)
        return False

    # -- use -----------------------------------------------------------------
    def address(self, name):
        return self.nodes[name].address

    def start(self, name, argv, log_path, env=None):
        """Starts argv in node `name` (its cgroup; its own process group)."""
        node = self.nodes[name]
        log = open(log_path, "ab")
        wrapper = ["sh", "-c", f'echo $$ > "{node.group}/cgroup.procs" && exec "$@"',
                   f"node-{name}"] + list(argv)
        p = subprocess.Popen(wrapper, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        log.close()
        self.procs.append(p)
        return p


    def start_spark(self, workdir, master="server", workers=(), cores=1, memory="1g"):
        """A Spark standalone cluster on the nodes: the master on node `master`
        and a Spark Worker on each node of `workers`, bound to the node's
        address (SPARK_LOCAL_IP), so its executors, their Python workers and
        the DeepSpark workers those start run in the node's cgroup and their
        connections leave from its address (deepspark.spark passes
        --source-address=$SPARK_LOCAL_IP). Returns the master URL once every
        Worker has registered; the processes end with the cluster."""
        spark_home = find_spark_home()
        spark_class = os.path.join(spark_home, "bin", "spark-class")
        port = free_port(self.address(master))
        url = f"spark://{self.address(master)}:{port}"
        os.makedirs(workdir, exist_ok=True)

        def env_for(node):
            return dict(os.environ, SPARK_HOME=spark_home, SPARK_LOCAL_IP=self.address(node),
                        SPARK_WORKER_DIR=os.path.join(workdir, f"spark-{node}"),
                        OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        self.start(master, [spark_class, "org.apache.spark.deploy.master.Master", "--host",
                            self.address(master), "--port", str(port), "--webui-port", "0"],
                   os.path.join(workdir, "spark-master.log"), env_for(master))
        for node in workers:
            self.start(node, [spark_class, "org.apache.spark.deploy.worker.Worker", "--host",
                              self.address(node), "--cores", str(cores), "--memory", memory,
                              "--webui-port", "0", url],
                       os.path.join(workdir, f"spark-worker-{node}.log"), env_for(node))
        log = os.path.join(workdir, "spark-master.log")
        deadline = time.time() + 240
        while time.time() < deadline:
            text = open(log, errors="replace").read() if os.path.exists(log) else ""
            if text.count("Registering worker") >= len(workers):
                return url
            time.sleep(0.5)
        raise RuntimeError(f"the Spark workers did not register within 240 s; see {workdir}")


# ---------------------------------------------------------------------------
def find_spark_home():
    """$SPARK_HOME, else the Spark that comes inside the pyspark package."""
    import pyspark
    return os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__)


def free_port(host="127.0.1.1"):
    import socket
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def run_job(cluster, workdir, solver, workers, mode="async-easgd", extra_server=(),
            extra_worker=(), timeout=600, tool=TOOL, slow=()):
    """A DeepSpark job on the cluster: the server on node "server", worker i on
    node "w<i>". Returns the server's result file (dict) with the wall time."""
    port = free_port()
    key = os.path.join(workdir, "job.key")
    endpoint_file = os.path.join(workdir, "endpoint")
    result_file = os.path.join(workdir, "result.json")
    for f in (endpoint_file, result_file):
        if os.path.exists(f):
            os.remove(f)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    start = time.time()
    server = cluster.start("server", [
        tool, "server", f"--solver={solver}", f"--workers={workers}", f"--mode={mode}",
        f"--listen=tcp://{cluster.address('server')}:{port}", f"--key-file={key}",
        f"--endpoint-file={endpoint_file}", f"--result-file={result_file}",
        "--tester-threads=1"] + list(extra_server), os.path.join(workdir, "server.log"), env)
    while not (os.path.exists(endpoint_file) and os.path.exists(key)):
        if server.poll() is not None:
            raise RuntimeError(f"the server exited early; see {workdir}/server.log")
        time.sleep(0.1)
    with open(endpoint_file) as f:
        endpoint = f.read().strip()
    procs = []
    for i in range(workers):
        procs.append(cluster.start(f"w{i}", [
            tool, "worker", f"--server={endpoint}", f"--key-file={key}", f"--rank={i}",
            "--threads=1", f"--source-address={cluster.address(f'w{i}')}"] + list(extra_worker),
            os.path.join(workdir, f"worker{i}.log"), env))
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the job ran past {timeout} s; see {workdir}")
    seconds = time.time() - start
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    if not os.path.exists(result_file):
        raise RuntimeError(f"no result file; see {workdir}/server.log")
    with open(result_file) as f:
        result = json.load(f)
    result["wall_seconds"] = seconds
    result["server_exit"] = server.returncode
    return result


def smoke(keep):
    """N = 2 workers of 0.4 core and 50 Mbit/s, 200 iterations of a small net."""
    work = tempfile.mkdtemp(prefix="deepspark-cluster-smoke-")
    try:
        data = os.path.join(work, "blobs_lmdb")
        # Small synthetic Datum database (10 classes of 8x8 images).
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "blobs.py"),
                        data, "2000"], check=True)
        net = os.path.join(work, "net.prototxt")
        with open(net, "w") as f:
            for phase, batch in (("TRAIN", 16), ("TEST", 100)):
                f.write(f'layer {{ name: "data" type: "Data" top: "data" top: "label" '
                        f'include {{ phase: {phase} }} transform_param {{ scale: 0.00390625 }} '
                        f'data_param {{ source: "{data}" batch_size: {batch} backend: LMDB }} }}\n')
            f.write('layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1" '
                    'inner_product_param { num_output: 32 weight_filler { type: "xavier" } } }\n'
                    'layer { name: "relu" type: "ReLU" bottom: "ip1" top: "ip1" }\n'
                    'layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" '
                    'inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }\n'
                    'layer { name: "acc" type: "Accuracy" bottom: "ip2" bottom: "label" '
                    'top: "accuracy" include { phase: TEST } }\n'
                    'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" '
                    'top: "loss" }\n')
        solver = os.path.join(work, "solver.prototxt")
        with open(solver, "w") as f:
            f.write(f'net: "{net}"\ntest_iter: 5\ntest_interval: 100000\nbase_lr: 0.05\n'
                    f'momentum: 0.9\nlr_policy: "fixed"\nmax_iter: 200\n'
                    f'snapshot_prefix: "{work}/smoke"\nrandom_seed: 1\n')
        with Cluster([("server", 0.5, 50), ("w0", 0.4, 50), ("w1", 0.4, 50)]) as cluster:
            result = run_job(cluster, work, solver, 2, timeout=300)
            groups = cluster.root
        acc = next((s["value"] for s in result["scores"] if s["name"] == "accuracy"), None)
        left = os.path.exists(groups)
        print(json.dumps({"ok": result.get("ok"), "center_iter": result.get("center_iter"),
                          "accuracy": acc, "wall_seconds": round(result["wall_seconds"], 2),
                          "cgroups_left": left}))
        return 0 if result.get("ok") and acc is not None and acc >= 0.8 and not left else 1
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def spark_smoke(keep, workers=2, max_iter=200):
    """A Spark standalone cluster on the nodes (master and driver on the
    server node, one Spark Worker per worker node) trains LeNet on MNIST
    through deepspark.spark (examples/spark/train_mnist.py, short)."""
    work = tempfile.mkdtemp(prefix="deepspark-cluster-spark-")
    try:
        nodes = [("server", 0.6, 1000)] + [(f"w{i}", 1.4 / workers, 1000) for i in range(workers)]
        with Cluster(nodes) as cluster:
            url = cluster.start_spark(work, workers=[f"w{i}" for i in range(workers)])
            spark_home = find_spark_home()
            py = os.path.join(ROOT, "build", "python")
            pythonpath = py + (":" + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH")
                               else "")
            server = cluster.address("server")
            env = dict(os.environ, SPARK_HOME=spark_home, SPARK_LOCAL_IP=server,
                       PYTHONPATH=pythonpath, PYSPARK_PYTHON=sys.executable,
                       PYSPARK_DRIVER_PYTHON=sys.executable)
            job = os.path.join(work, "job")
            start = time.time()
            p = cluster.start("server", [
                os.path.join(spark_home, "bin", "spark-submit"), "--master", url,
                "--conf", "spark.ui.enabled=false", "--conf", f"spark.driver.host={server}",
                "--conf", f"spark.driver.bindAddress={server}",
                "--conf", f"spark.executorEnv.PYTHONPATH={pythonpath}",
                "--conf", "spark.executor.cores=1", "--conf", f"spark.cores.max={workers}",
                "--conf", "spark.executor.memory=1g",
                os.path.join(ROOT, "examples", "spark", "train_mnist.py"),
                "--workers", str(workers), "--max-iter", str(max_iter), "--limit", "8000",
                "--workdir", job], os.path.join(work, "driver.log"), env)
            try:
                p.wait(timeout=900)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"the Spark job ran past 900 s; see {work}")
            seconds = time.time() - start
            groups = cluster.root
        result_file = os.path.join(job, "result.json")
        result = json.load(open(result_file)) if os.path.exists(result_file) else {}
        acc = next((s["value"] for s in result.get("scores", []) if s["name"] == "accuracy"),
                   None)
        left = os.path.exists(groups)
        print(json.dumps({"master": url, "ok": result.get("ok"), "accuracy": acc,
                          "wall_seconds": round(seconds, 1), "cgroups_left": left}))
        return 0 if result.get("ok") and acc is not None and acc >= 0.9 and not left else 1
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["check", "smoke", "spark-smoke"])
    p.add_argument("--keep", action="store_true", help="keep the smoke run's files")
    args = p.parse_args()
    reason = why_not()
    if args.command == "check" or reason:
        print(reason or "this machine can emulate a cluster")
        return 1 if reason else 0
    enter_private_netns()
    if args.command == "spark-smoke":
        return spark_smoke(args.keep)
    return smoke(args.keep)


if __name__ == "__main__":
    sys.exit(main())
