"""Training on an Apache Spark cluster (PySpark).

train() runs the parameter server on the driver (the `deepspark server`
tool, as a subprocess whose progress lines are echoed) and one barrier stage
of num_workers tasks: each task writes its partition to a local LMDB of
Datums and runs the C++ worker (`deepspark worker --train-source=...`)
against the driver. The job key travels in the task closure and reaches the
worker through DEEPSPARK_JOB_KEY, so executors need no shared filesystem.
A task whose worker dies returns its exit status instead of failing the
stage (a retried barrier stage would restart every worker): the server drops
the silent worker after heartbeat_timeout_ms and the others finish the job.
"""
import contextlib
import json
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import deepspark

_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(deepspark.__file__)))


def _to_chw(image, shape):
    """An image (bytes, flat or shaped array) -> (C,H,W) array, uint8 when it
    is bytes or integral, else float32."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(image), dtype=np.uint8)
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            if np.issubdtype(arr.dtype, np.integer) and arr.size and arr.min() >= 0 \
                    and arr.max() <= 255:
                arr = arr.astype(np.uint8)
            else:
                arr = arr.astype(np.float32)
    if shape is not None:
        return arr.reshape(shape)
    if arr.ndim == 3:
        return arr
    if arr.ndim == 2:
        return arr[None]
    side = int(round(np.sqrt(arr.size)))
    if side * side != arr.size:
        raise ValueError("cannot infer (C,H,W) of an image of %d values: pass shape=" % arr.size)
    return arr.reshape(1, side, side)


def _records(data, image_col, label_col):
    """An RDD of (image, label) from a DataFrame or an RDD of pairs."""
    if hasattr(data, "rdd") and hasattr(data, "columns"):  # DataFrame
        return data.select(image_col, label_col).rdd.map(lambda r: (r[0], int(r[1])))
    return data


@contextlib.contextmanager
def _cwd(path):
    old = os.getcwd()
    if path:
        os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _driver_host(sc):
    master = sc.master or ""
    if master.startswith("local"):
        return "127.0.0.1"
    host = sc.getConf().get("spark.driver.host", None)
    return host or socket.gethostbyname(socket.gethostname())


def _partition_task(server, key_text, shape, tool, threads, pid_dir, worker_env):
    """The barrier task: returns [(rank, exit status)]."""
    def run(index_iter):
        from pyspark import BarrierTaskContext
        ctx = BarrierTaskContext.get()
        rank = ctx.partitionId()
        try:
            import deepspark.io as dsio
        except ImportError:  # executors on this host, package not on their path
            sys.path.insert(0, _PKG_PARENT)
            import deepspark.io as dsio
        import deepspark as ds
        try:  # this executor's own installation, else the driver's path
            worker_tool = ds.tool_path()
        except ds.DeepSparkError:
            worker_tool = tool
        work = tempfile.mkdtemp(prefix="deepspark-task%d-" % rank)
        lmdb = os.path.join(work, "train_lmdb")
        n = dsio.write_lmdb(lmdb, ((_to_chw(img, shape), label) for img, label in index_iter))
        ctx.barrier()  # every partition written before any worker joins
        if n == 0:
            return [(rank, -1)]
        env = dict(os.environ)
        env.update(worker_env or {})
        env["DEEPSPARK_JOB_KEY"] = key_text
        env.pop("DEEPSPARK_JOB_KEY_FILE", None)
        env.setdefault("OPENBLAS_NUM_THREADS", str(threads))
        env.setdefault("OMP_NUM_THREADS", str(threads))
        cmd = [worker_tool, "worker", "--server=" + server, "--rank=%d" % rank,
               "--train-source=" + lmdb, "--threads=%d" % threads]
        # Leave from the address Spark itself binds on this node (a node with
        # several addresses, or the emulated cluster's 127.0.1.i).
        local_ip = os.environ.get("SPARK_LOCAL_IP", "")
        if local_ip and local_ip not in ("0.0.0.0", "::"):
            cmd.append("--source-address=" + local_ip)
        with open(os.path.join(work, "worker.log"), "w") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            if pid_dir:
                with open(os.path.join(pid_dir, "rank%d.pid" % rank), "w") as f:
                    f.write(str(proc.pid))
            status = proc.wait()

        shutil.rmtree(lmdb, ignore_errors=True)
        return [(rank, status)]
    return run


def train(data, solver, num_workers, mode="async-easgd", tau=None, moving_rate=None,
          image_col="image", label_col="label", shape=None, max_iter=None, test_source=None,
          test_iter=None, test_interval=None, workdir=None, port=0,
          heartbeat_timeout_ms=None, threads=1, weights=None, verbose=True, pid_dir=None,
          worker_env=None, solver_cwd=None):
    """Trains `solver` (a solver prototxt path) on `data` with num_workers
    Spark tasks; returns (center .caffemodel path, deepspark.Net in TEST
    phase with the center's weights).

    data: a DataFrame with image_col (bytes of uint8, or an array) and
    label_col, or an RDD of (ndarray, label). shape: (C,H,W) of the images
    when they are flat (default: inferred, square single channel).
    max_iter, test_source, test_iter, test_interval override the solver
    (test_source: an LMDB on the driver). solver_cwd: the folder the
    solver's relative paths start from (default: the current one). heartbeat_timeout_ms: how long
    the server waits for a silent worker before dropping it.
    """
    rdd = _records(data, image_col, label_col)
    sc = rdd.context
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="deepspark-job-"))
    os.makedirs(workdir, exist_ok=True)
    tool = deepspark.tool_path()

    # The server builds the train net, so its Data layer needs a source: a
    # small LMDB of the first records.
    sample = rdd.take(4)
    if not sample:
        raise ValueError("no training data")
    driver_lmdb = os.path.join(workdir, "driver_train_lmdb")
    # Ours, made anew each run: one left by an earlier job in the same
    # workdir is replaced, not an error.
    shutil.rmtree(driver_lmdb, ignore_errors=True)
    deepspark.io.write_lmdb(driver_lmdb, [(_to_chw(i, shape), l) for i, l in sample])
    job_solver = os.path.join(workdir, "solver.prototxt")
    job_net = os.path.join(workdir, "net.prototxt")
    # Paths inside the solver are relative to solver_cwd (Caffe: its root).
    solver = os.path.abspath(str(solver))
    test_source = os.path.abspath(test_source) if test_source else ""
    with _cwd(solver_cwd):
        deepspark._deepspark.make_job_solver(
            solver, job_solver, train_source=driver_lmdb, test_source=test_source,
            max_iter=max_iter or 0, test_iter=test_iter or 0,
            test_interval=-1 if test_interval is None else test_interval,
            snapshot_prefix=os.path.join(workdir, "center"), net_out_path=job_net)

    key_text = deepspark._deepspark.generate_job_key()
    key_file = os.path.join(workdir, "job.key")
    deepspark._deepspark.write_job_key(key_text, key_file)

    host = _driver_host(sc)
    cmd = [tool, "server", "--solver=" + job_solver, "--workers=%d" % num_workers,
           # The driver's own address (the one executors reach it by), not
           # every interface of the driver machine.
           "--listen=tcp://%s:%d" % (host, port),
           "--key-file=" + key_file, "--mode=" + mode,
           "--result-file=" + os.path.join(workdir, "result.json")]
    if tau is not None:
        cmd.append("--tau=%d" % tau)
    if moving_rate is not None:
        cmd.append("--moving-rate=%g" % moving_rate)
    if heartbeat_timeout_ms is not None:
        cmd.append("--heartbeat-timeout-ms=%d" % heartbeat_timeout_ms)
    if weights:
        cmd.append("--weights=" + str(weights))
    endpoint_file = os.path.join(workdir, "endpoint")
    if os.path.exists(endpoint_file):
        os.remove(endpoint_file)
    cmd.append("--endpoint-file=" + endpoint_file)
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              bufsize=1, cwd=solver_cwd)
    lines = []

    def pump():
        for line in server.stdout:
            lines.append(line)
            if verbose:
                sys.stdout.write("[server] " + line)
                sys.stdout.flush()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    # The server writes its address to the endpoint file (whole, by a
    # rename) once it listens; a server that exits first failed to start.
    address = None
    while address is None:
        if os.path.exists(endpoint_file):
            with open(endpoint_file) as f:
                address = f.read().strip()
        elif server.poll() is not None:
            reader.join(timeout=10)
            raise deepspark.DeepSparkError("the parameter server did not start:\n"
                                           + "".join(lines))
        else:
            time.sleep(0.05)
    port_used = address.rsplit(":", 1)[1]
    server_addr = "tcp://%s:%s" % (host, port_used)

    try:
        if rdd.getNumPartitions() != num_workers:
            rdd = rdd.repartition(num_workers)
        task = _partition_task(server_addr, key_text, shape, tool, threads, pid_dir, worker_env)
        statuses = rdd.barrier().mapPartitions(task).collect()
    except BaseException:
        server.kill()
        server.wait()
        raise
    for rank, status in sorted(statuses):
        if status != 0 and verbose:
            sys.stdout.write("[driver] worker %d ended with status %d\n" % (rank, status))
    server.wait()
    reader.join(timeout=10)
    text = "".join(lines)
    # The server writes how the job ended as JSON (its result file); the
    # printed lines are for people.
    result_path = os.path.join(workdir, "result.json")
    result = None
    if os.path.exists(result_path):
        with open(result_path) as f:
            result = json.load(f)
    if server.returncode != 0 or not result or not result.get("ok") or not result["caffemodel"]:
        raise deepspark.DeepSparkError("the parameter server failed (status %s):\n%s"
                                       % (server.returncode, text[-4000:]))
    caffemodel = os.path.join(solver_cwd, result["caffemodel"])
    with _cwd(solver_cwd):
        net = deepspark.Net(job_net, deepspark.TEST, weights=caffemodel)
    return caffemodel, net

