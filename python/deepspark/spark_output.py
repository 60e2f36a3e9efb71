"""A Spark job's files on the cluster's filesystem: what deepspark.spark.train
copies to output_path (any Hadoop path) while the job runs and at its end,
and how it fetches a snapshot to resume from. Driver side only.

While the job runs (every couple of seconds, from a driver thread): each
snapshot of the center as the server completes it (PREFIX_iter_N.caffemodel,
then its PREFIX_iter_N.serverstate, so a reader that sees the state finds its
weights) and the metrics file whenever it grew. At the end: the final
snapshot, the metrics, result.json, and the job's solver and net prototxt.
Every file is written whole under a temporary name and renamed
(deepspark.hadoop_fs).
"""
import logging
import os
import re
import threading
import time

from . import hadoop_fs

log = logging.getLogger("deepspark.spark")

_SNAPSHOT = re.compile(r"^center_iter_(\d+)\.serverstate$")


class JobUploader:
    """Copies a job's files from workdir (on the driver) to output_path.
    Files older than the job (an earlier run's, in a reused workdir) are
    left out."""

    def __init__(self, sc, workdir, output_path, interval_s=2.0):
        self._sc, self._workdir, self._output = sc, workdir, output_path.rstrip("/")
        self._interval_s = interval_s
        self._started = time.time() - 1  # mtimes have 1 s steps on some filesystems
        self._sent = {}  # local name -> (size, mtime) as sent
        self._stop = threading.Event()
        self._thread = None
        self._error = None

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="deepspark-uploader",
                                        daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self._interval_s):
            try:
                self.sync()
            except Exception as e:  # a slow or failing filesystem must not stop training
                if self._error is None:
                    log.warning("copying the job's files to %s failed (will retry): %s",
                                self._output, e)
                self._error = e

    def _put(self, name):
        local = os.path.join(self._workdir, name)
        st = os.stat(local)
        if st.st_mtime < self._started or self._sent.get(name) == (st.st_size, st.st_mtime):
            return False
        hadoop_fs.put_file(self._sc, local, hadoop_fs.join(self._output, name))
        self._sent[name] = (st.st_size, st.st_mtime)
        return True

    def sync(self):
        """Copies the complete snapshots not yet sent, and the metrics."""
        names = sorted(os.listdir(self._workdir))
        for name in names:
            m = _SNAPSHOT.match(name)
            if m and name not in self._sent:
                model = "center_iter_%s.caffemodel" % m.group(1)
                if model in names:  # the server writes the weights first
                    self._put(model)
                    if self._put(name):
                        log.info("snapshot %s copied to %s", name, self._output)
        if "center_metrics.jsonl" in names:
            self._put("center_metrics.jsonl")

    def close_quietly(self):
        """After a failed job: copies what there is (snapshots and metrics
        may help to resume), logging rather than raising a failure."""
        try:
            self.finish([])
        except Exception as e:
            log.warning("copying the failed job's files to %s failed: %s", self._output, e)

    def finish(self, extra_names):
        """Stops the thread and copies what is left, then extra_names (the
        result, the job's prototxt); raises what fails now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sync()
        for name in extra_names:
            if os.path.exists(os.path.join(self._workdir, name)):
                self._put(name)
        log.info("the job's files are in %s", self._output)


def fetch_snapshot(sc, resume_from, folder):
    """Copies a server snapshot (PREFIX_iter_N.serverstate, a Hadoop path) and
    its weights (PREFIX_iter_N.caffemodel beside it) into folder;
    returns the local .serverstate path for `deepspark server --snapshot`."""
    if not resume_from.endswith(".serverstate"):
        raise ValueError("resume_from must name a .serverstate the job wrote, not %r"
                         % (resume_from,))
    os.makedirs(folder, exist_ok=True)
    model_path = resume_from[:-len(".serverstate")] + ".caffemodel"
    local_state = os.path.join(folder, resume_from.rsplit("/", 1)[-1])
    # Through Hadoop's FileSystem even without a scheme: a bare path means
    # the cluster's default filesystem, as it does to Spark.
    hadoop_fs.get_file(sc, resume_from, local_state)
    hadoop_fs.get_file(sc, model_path, os.path.join(folder, model_path.rsplit("/", 1)[-1]))
    return local_state
