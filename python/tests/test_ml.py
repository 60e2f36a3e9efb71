"""deepspark.ml with real Spark (local[2]): fit a DeepSparkClassifier on an
MNIST DataFrame, transform test images, save and load the model (files
through Hadoop's FileSystem), and the same inside a Pipeline; a column of
PNG-encoded images."""
import os

import numpy as np
import pytest

import deepspark

from conftest import MNIST
from test_spark import CAFFE_ROOT, FIRST100, SOLVER, _session, train_mnist
from parquet_mnist import png  # noqa: E402 (examples/spark, on the path test_spark set)

pytestmark = pytest.mark.slow


@pytest.fixture
def spark():
    s = _session("local[2]")
    yield s
    s.stop()


def _test_frame(spark, n=500):
    images = train_mnist.read_idx(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))[:n]
    labels = train_mnist.read_idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"))[:n]
    rows = [(bytearray(images[i].tobytes()), int(labels[i])) for i in range(n)]
    return spark.createDataFrame(rows, "image binary, label int")


def _accuracy(scored):
    rows = scored.select("label", "prediction", "probability").collect()
    probs = np.array([r["probability"] for r in rows])
    assert probs.shape == (len(rows), 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert all(r["prediction"] == float(np.argmax(r["probability"])) for r in rows)
    return np.mean([r["label"] == r["prediction"] for r in rows]), [r["prediction"] for r in rows]


def test_fit_transform_save_load_and_pipeline(spark, tmp_path):
    from pyspark.ml import Pipeline, PipelineModel
    from deepspark.ml import DeepSparkClassifier, DeepSparkModel
    train = train_mnist.mnist_dataframe(spark, MNIST, 2000)
    clf = DeepSparkClassifier(solver=SOLVER, solverCwd=CAFFE_ROOT, numWorkers=2, maxIter=200,
                              testSource=FIRST100, imageShape=[1, 28, 28], batchSize=50,
                              workdir=str(tmp_path / "job"))
    model = clf.fit(train)
    assert "Input" in model.deploy_prototxt and "SoftmaxWithLoss" not in model.deploy_prototxt
    test = _test_frame(spark)
    scored = model.transform(test)
    assert scored.columns == ["image", "label", "prediction", "probability"]
    acc, predictions = _accuracy(scored)
    assert acc > 0.9, acc

    # Saved as a folder of Caffe's files (the weights load in Caffe as they
    # are) and loaded back: the same predictions.
    path = "file://" + str(tmp_path / "model")
    model.write().overwrite().save(path)
    assert (tmp_path / "model" / "model.caffemodel").stat().st_size > 1e6
    assert (tmp_path / "model" / "deploy.prototxt").exists()
    net = deepspark.Net(str(tmp_path / "model" / "deploy.prototxt"), deepspark.TEST,
                        weights=str(tmp_path / "model" / "model.caffemodel"))
    assert net.blobs["data"].data.shape == (50, 1, 28, 28)
    loaded = DeepSparkModel.load(path)
    assert loaded.getBatchSize() == 50 and loaded.getImageShape() == [1, 28, 28]
    assert _accuracy(loaded.transform(test))[1] == predictions

    # In a Pipeline, saved and loaded as Spark ML's own.
    pipeline = Pipeline(stages=[clf.copy({clf.maxIter: 50, clf.workdir: str(tmp_path / "job2")})])
    fitted = pipeline.fit(train)
    fitted.write().overwrite().save(str(tmp_path / "pipeline"))
    again = PipelineModel.load(str(tmp_path / "pipeline"))
    assert isinstance(again.stages[0], DeepSparkModel)
    pipeline_predictions = _accuracy(fitted.transform(test))[1]
    assert _accuracy(again.transform(test))[1] == pipeline_predictions
    clf.write().overwrite().save(str(tmp_path / "estimator"))
    assert DeepSparkClassifier.load(str(tmp_path / "estimator")).getOrDefault("maxIter") == 200

    # And in a new Spark session (a new JVM: nothing cached survives).
    spark.stop()
    fresh = _session("local[2]")
    try:
        again = PipelineModel.load(str(tmp_path / "pipeline"))
        assert _accuracy(again.transform(_test_frame(fresh)))[1] == pipeline_predictions
    finally:
        fresh.stop()


def test_a_missing_solver_is_named():
    from deepspark.ml import DeepSparkClassifier
    spark = _session("local[2]")
    try:
        with pytest.raises(ValueError, match="needs solver="):
            DeepSparkClassifier(numWorkers=2).fit(_test_frame(spark, 10))
    finally:
        spark.stop()


def test_png_encoded_column(tmp_path):
    """Encoded images train as Caffe's encoded Datums (the Data layer
    decodes them) and are decoded the same way in transform."""
    from deepspark.ml import DeepSparkClassifier
    spark = _session("local[2]")
    try:
        def frame(images, labels, n):
            rows = [(bytearray(png(images[i])), int(labels[i])) for i in range(n)]
            return spark.createDataFrame(rows, "image binary, label int")
        train = frame(train_mnist.read_idx(os.path.join(MNIST, "train-images-idx3-ubyte.gz")),
                      train_mnist.read_idx(os.path.join(MNIST, "train-labels-idx1-ubyte.gz")),
                      2000)
        test = frame(train_mnist.read_idx(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")),
                     train_mnist.read_idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz")), 500)
        first = train.first()["image"]
        assert bytes(first[:4]) == b"\x89PNG" and len(first) < 784
        model = DeepSparkClassifier(solver=SOLVER, solverCwd=CAFFE_ROOT, numWorkers=2,
                                    maxIter=200, testSource=FIRST100, batchSize=100,
                                    workdir=str(tmp_path / "job")).fit(train)
        assert model.getImageShape() == [1, 28, 28]
        acc, _ = _accuracy(model.transform(test))
        assert acc > 0.9, acc
    finally:
        spark.stop()


def test_vector_column_and_validation_rows(tmp_path):
    """A Spark ML vector column of pixels (VectorUDT) trains and is scored,
    passing through transform as a vector; the rows marked by
    validationIndicatorCol are the center's test set (no test LMDB)."""
    from pyspark.ml.linalg import Vectors, VectorUDT
    from deepspark import spark as ds_spark
    from deepspark.ml import DeepSparkClassifier
    spark = _session("local[2]")
    try:
        images = train_mnist.read_idx(os.path.join(MNIST, "train-images-idx3-ubyte.gz"))[:2300]
        labels = train_mnist.read_idx(os.path.join(MNIST, "train-labels-idx1-ubyte.gz"))[:2300]
        rows = [(Vectors.dense(images[i].reshape(-1).astype(float)), int(labels[i]), i >= 2000)
                for i in range(len(labels))]
        df = spark.createDataFrame(rows, ["features", "label", "isVal"])
        assert isinstance(df.schema["features"].dataType, VectorUDT)
        workdir = str(tmp_path / "job")
        model = DeepSparkClassifier(solver=SOLVER, solverCwd=CAFFE_ROOT, numWorkers=2,
                                    maxIter=200, inputCol="features", imageShape=[1, 28, 28],
                                    validationIndicatorCol="isVal", batchSize=100,
                                    workdir=workdir).fit(df)
        # The center was tested on the 300 marked rows, written on the driver
        # as a record file (the solver's test_iter of 100 wraps around them).
        assert len(deepspark.io.read_lmdb(os.path.join(workdir, "test.records"),
                                          backend="records")) == 300
        assert not [f for f in os.listdir(workdir) if "lmdb" in f]
        tests = [r for r in ds_spark.job_metrics(spark, workdir).collect()
                 if r["accuracy"] is not None]
        assert tests and tests[-1]["accuracy"] > 0.85, tests[-1]
        scored = model.transform(df.filter("isVal"))
        assert isinstance(scored.schema["features"].dataType, VectorUDT)
        acc, _ = _accuracy(scored)
        assert acc > 0.85, acc
    finally:
        spark.stop()


def test_spark_image_data_source(tmp_path):
    """PNG files read with spark.read.format("image") (a struct column,
    BGR rows as OpenCV lays them out), labels from the folder names."""
    from pyspark.sql import functions as F
    from deepspark.ml import DeepSparkClassifier
    images = train_mnist.read_idx(os.path.join(MNIST, "train-images-idx3-ubyte.gz"))[:1200]
    labels = train_mnist.read_idx(os.path.join(MNIST, "train-labels-idx1-ubyte.gz"))[:1200]
    for i in range(len(labels)):
        folder = tmp_path / "images" / str(labels[i])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("%05d.png" % i)).write_bytes(png(images[i]))
    spark = _session("local[2]")
    try:
        df = (spark.read.format("image").load(str(tmp_path / "images" / "*"))
              .withColumn("label", F.regexp_extract("image.origin", r"/(\d)/[^/]*$", 1)
                          .cast("int")))
        first = df.first()
        assert first["image"]["nChannels"] == 1 and first["image"]["height"] == 28
        train, test = df.filter(F.col("image.origin").endswith("0.png") == F.lit(False)), \
            df.filter(F.col("image.origin").endswith("0.png"))
        model = DeepSparkClassifier(solver=SOLVER, solverCwd=CAFFE_ROOT, numWorkers=2,
                                    maxIter=150, testSource=FIRST100, batchSize=60,
                                    workdir=str(tmp_path / "job")).fit(train)
        assert model.getImageShape() == [1, 28, 28]
        acc, _ = _accuracy(model.transform(test))
        assert acc > 0.8, acc
    finally:
        spark.stop()
