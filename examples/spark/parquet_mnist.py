#!/usr/bin/env python3
"""Parquet in, Parquet out: LeNet on MNIST stored as PNG bytes in Parquet.

    python3 examples/spark/parquet_mnist.py --make-parquet /data/mnist_parquet
    spark-submit --master spark://HOST:7077 examples/spark/parquet_mnist.py \\
        --parquet /data/mnist_parquet --out /data/mnist_scored --workers 4

--make-parquet writes MNIST's gzipped IDX files as two Parquet datasets,
train (60,000 rows) and test (10,000 rows), with columns image (the PNG
bytes of a 28x28 grey image) and label (int), in 8 and 2 files.

The job reads them with Spark, fits a DeepSparkClassifier (Caffe's stock
LeNet solver, 4 workers, async EASGD) on the train rows while the center is
tested on the test rows (validationIndicatorCol), with no LMDB written
anywhere: each task streams its partition into a local record file
(--feed lmdb takes Caffe's route instead, for comparison). It then scores
the 10,000 test rows with the fitted model, writes them to --out as Parquet
(image, label, prediction, probability), reads that back and prints the
accuracy computed from the DataFrame, with the wall time of each step.
"""
import argparse
import json
import logging
import os
import struct
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train_mnist import SHARED, read_idx  # noqa: E402


def png(gray):
    """A grey uint8 (H, W) array as PNG bytes (zlib and the PNG chunk
    layout; no image library needed to make the dataset)."""
    h, w = gray.shape

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + gray[y].tobytes() for y in range(h))  # no filter on each row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_parquet(mnist_dir, out):
    """MNIST's IDX files -> out/train and out/test Parquet datasets."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    for split, prefix, files in (("train", "train", 8), ("test", "t10k", 2)):
        images = read_idx(os.path.join(mnist_dir, prefix + "-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(mnist_dir, prefix + "-labels-idx1-ubyte.gz"))
        folder = os.path.join(out, split)
        os.makedirs(folder, exist_ok=True)
        step = (len(labels) + files - 1) // files
        for f in range(files):
            rows = range(f * step, min(len(labels), (f + 1) * step))
            table = pa.table({"image": pa.array([png(images[i]) for i in rows], pa.binary()),
                              "label": pa.array([int(labels[i]) for i in rows], pa.int32())})
            # Written whole under a temporary name, then renamed.
            path = os.path.join(folder, "part-%05d.parquet" % f)
            pq.write_table(table, path + ".tmp")
            os.replace(path + ".tmp", path)
        print("%s: %d rows in %d files under %s" % (split, len(labels), files, folder))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--make-parquet", metavar="DIR", help="write the Parquet datasets and stop")
    p.add_argument("--mnist", default=os.path.join(SHARED, "datasets", "mnist"))
    p.add_argument("--parquet", help="the folder --make-parquet wrote (any Hadoop path)")
    p.add_argument("--out", help="where the scored test rows go (Parquet, any Hadoop path)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--solver", default=os.path.join(SHARED, "caffe-zoo", "bvlc", "examples",
                                                    "mnist", "lenet_solver.prototxt"))
    p.add_argument("--max-iter", type=int, default=0, help="override the solver's max_iter")
    p.add_argument("--feed", default="records", choices=("records", "lmdb"))
    p.add_argument("--workdir", default=None, help="the job's folder on the driver")
    p.add_argument("--summary", default=None, help="write the numbers printed as JSON here")
    args = p.parse_args(argv)
    if args.make_parquet:
        make_parquet(args.mnist, args.make_parquet)
        return 0
    if not args.parquet or not args.out:
        p.error("--parquet and --out are needed (or --make-parquet)")

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from deepspark.ml import DeepSparkClassifier

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    spark = SparkSession.builder.appName("deepspark-parquet-mnist").getOrCreate()
    train = spark.read.parquet(args.parquet.rstrip("/") + "/train")
    test = spark.read.parquet(args.parquet.rstrip("/") + "/test")
    # One frame: the test rows marked, so the center is tested on them
    # during training (and they are not trained on).
    rows = (train.withColumn("is_test", F.lit(False))
            .unionByName(test.withColumn("is_test", F.lit(True))))
    solver_dir = os.path.dirname(os.path.abspath(args.solver))
    workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="deepspark-parquet-"))
    clf = DeepSparkClassifier(solver=os.path.abspath(args.solver),
                              solverCwd=os.path.abspath(os.path.join(solver_dir, "..", "..")),
                              numWorkers=args.workers, maxIter=args.max_iter, feed=args.feed,
                              inputCol="image", labelCol="label", validationIndicatorCol="is_test",
                              batchSize=100, workdir=workdir)
    started = time.time()
    model = clf.fit(rows)
    fit_s = time.time() - started

    started = time.time()
    model.transform(test).write.mode("overwrite").parquet(args.out)
    scored = spark.read.parquet(args.out)
    n, accuracy = scored.select(F.count("*"), F.avg((F.col("label") == F.col("prediction"))
                                                    .cast("double"))).first()
    transform_s = time.time() - started
    with open(os.path.join(workdir, "result.json")) as f:
        center = json.load(f)
    center_accuracy = next(s["value"] for s in center["scores"] if s["name"] == "accuracy")
    print("fit: %.1f s (feed %s, %d workers); the center's last test: accuracy %.4f"
          % (fit_s, args.feed, args.workers, center_accuracy))
    print("transform of %d test rows to %s and back: %.1f s" % (n, args.out, transform_s))
    print("test accuracy from the scored DataFrame: %.4f" % accuracy)
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump({"feed": args.feed, "workers": args.workers, "fit_s": fit_s,
                       "transform_s": transform_s, "rows_scored": n, "accuracy": accuracy,
                       "center_accuracy": center_accuracy}, f)
    spark.stop()
    return 0 if n == 10000 else 1


if __name__ == "__main__":
    sys.exit(main())
