#!/usr/bin/env python3
"""Trains Caffe's LeNet on MNIST with Apache Spark and DeepSpark.

    spark-submit --master 'local[4]' examples/spark/train_mnist.py --workers 4

The training DataFrame is built here from the gzipped IDX files (columns
image: 784 bytes, label: int); the test set is an LMDB made with
`deepspark convert-mnist` on the driver. Prints the center's test accuracy.
"""
import argparse
import gzip
import logging
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"


def read_idx(path):
    """A gzipped IDX file -> numpy array (big-endian header: magic, dims)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_dataframe(spark, mnist_dir, limit=None, num_slices=None):
    images = read_idx(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    rows = [(bytearray(images[i].tobytes()), int(labels[i])) for i in range(len(labels))]
    return spark.createDataFrame(rows, "image binary, label int") if num_slices is None else \
        spark.createDataFrame(spark.sparkContext.parallelize(rows, num_slices),
                              "image binary, label int")


def make_test_lmdb(mnist_dir, out_dir):
    """Converts t10k with the deepspark tool (once)."""
    import deepspark
    out = os.path.join(out_dir, "mnist_test_lmdb")
    if not os.path.exists(os.path.join(out, "data.mdb")):
        subprocess.check_call([deepspark.tool_path(), "convert-mnist",
                               os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"),
                               os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"), out])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--mnist", default=os.path.join(SHARED, "datasets", "mnist"))
    p.add_argument("--solver", default=os.path.join(SHARED, "caffe-zoo", "bvlc", "examples",
                                                    "mnist", "lenet_solver.prototxt"))
    p.add_argument("--max-iter", type=int, default=None, help="override the solver's max_iter")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images")
    p.add_argument("--mode", default="async-easgd")
    p.add_argument("--tau", type=int, default=None)
    p.add_argument("--workdir", default=None)
    args = p.parse_args(argv)

    from pyspark.sql import SparkSession
    import deepspark.spark

    # deepspark.spark reports through `logging` (the server's progress lines).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    spark = SparkSession.builder.appName("deepspark-mnist").getOrCreate()
    # Not the current folder: job files (snapshots, the test LMDB) go to a
    # folder of their own unless --workdir names one.
    workdir = os.path.abspath(args.workdir or os.path.join(tempfile.gettempdir(),
                                                           "deepspark_mnist_job"))
    os.makedirs(workdir, exist_ok=True)
    test_lmdb = make_test_lmdb(args.mnist, workdir)
    df = mnist_dataframe(spark, args.mnist, args.limit)
    # The stock solver names its net relative to Caffe's root.
    solver_dir = os.path.dirname(os.path.abspath(args.solver))
    caffe_root = os.path.abspath(os.path.join(solver_dir, "..", ".."))
    solver_path = os.path.abspath(args.solver)
    caffemodel, net = deepspark.spark.train(
        df, solver_path, args.workers, mode=args.mode, tau=args.tau, shape=(1, 28, 28),
        max_iter=args.max_iter, test_source=test_lmdb, workdir=workdir,
        solver_cwd=caffe_root)
    # The returned TEST net reads the test LMDB: average over its batches.
    batches = 10000 // net.blobs["data"].data.shape[0]
    acc = np.mean([float(net.forward()["accuracy"]) for _ in range(batches)])
    print("center: %s" % caffemodel)
    print("test accuracy: %.4f" % acc)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
