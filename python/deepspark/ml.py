"""Spark ML: DeepSparkClassifier (an Estimator) and DeepSparkModel (its Model).

    from deepspark.ml import DeepSparkClassifier, DeepSparkModel
    clf = DeepSparkClassifier(solver="lenet_solver.prototxt", solverCwd=caffe_root,
                              numWorkers=4, inputCol="image", labelCol="label",
                              imageShape=[1, 28, 28])
    model = clf.fit(train_df)                 # deepspark.spark.train underneath
    scored = model.transform(test_df)         # adds prediction and probability
    model.write().overwrite().save("hdfs:///models/lenet")   # any Hadoop path
    model = DeepSparkModel.load("hdfs:///models/lenet")

fit trains the solver's net on the DataFrame with deepspark.spark.train and
keeps the center's weights with the net's deploy form (the TEST phase's
layers, the data layer replaced by an input, the label's consumers left
out). transform runs that net in every partition (an Arrow-backed pandas
UDF of the input column, other columns untouched): the model is
broadcast once, each Python worker builds its net once, images go through
the data layer's transform_param (scale, mean, crop) as in training, in
batches of batchSize; prediction is the arg max of the output blob and
probability its softmax (the output itself when the net ends in Softmax),
as an array<float> column. A saved model is a folder: Spark ML's metadata,
deploy.prototxt, model.caffemodel (Caffe's own format), transform.pb and,
when the data layer had one, mean.binaryproto; it works in a Pipeline.
"""
import os
import tempfile
import uuid

import numpy as np
from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import (HasInputCol, HasLabelCol, HasPredictionCol,
                                     HasProbabilityCol, HasValidationIndicatorCol)
from pyspark.ml.util import (DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable,
                             DefaultParamsWriter, MLReadable, MLReader, MLWritable, MLWriter)

import deepspark
from deepspark import hadoop_fs
from deepspark import spark as ds_spark

__all__ = ["DeepSparkClassifier", "DeepSparkModel"]


class _ModelParams(HasInputCol, HasPredictionCol, HasProbabilityCol):
    """What both the Estimator and the Model have."""
    imageShape = Param(Params._dummy(), "imageShape",
                       "(C, H, W) of the images when the input column holds them flat "
                       "(empty: inferred, square single channel)", TypeConverters.toListInt)
    batchSize = Param(Params._dummy(), "batchSize", "images per forward pass in transform",
                      TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(inputCol="image", predictionCol="prediction",
                         probabilityCol="probability", imageShape=[], batchSize=64)

    def getImageShape(self):
        return self.getOrDefault(self.imageShape)

    def getBatchSize(self):
        return self.getOrDefault(self.batchSize)


class DeepSparkClassifier(Estimator, _ModelParams, HasLabelCol, HasValidationIndicatorCol,
                          DefaultParamsReadable, DefaultParamsWritable):
    """Trains a Caffe solver's net on a DataFrame of images and labels with
    DeepSpark's workers (see deepspark.spark.train) and returns a
    DeepSparkModel. With validationIndicatorCol (a boolean column, as Spark's
    GBT estimators take), the rows marked true are not trained on: the
    center is tested on them (the solver's test_iter batches)."""
    solver = Param(Params._dummy(), "solver", "the Caffe solver prototxt (a driver path)",
                   TypeConverters.toString)
    solverCwd = Param(Params._dummy(), "solverCwd",
                      "the folder the solver's relative paths start from (Caffe's root)",
                      TypeConverters.toString)
    numWorkers = Param(Params._dummy(), "numWorkers", "workers (Spark tasks) that train",
                       TypeConverters.toInt)
    mode = Param(Params._dummy(), "mode", "the exchange rule (async-easgd, deepspark, "
                 "sync-easgd, model-averaging, sync-sgd)", TypeConverters.toString)
    tau = Param(Params._dummy(), "tau", "local steps between exchanges (0: the rule's default)",
                TypeConverters.toInt)
    movingRate = Param(Params._dummy(), "movingRate",
                       "the elastic moving rate (0: 0.9 / numWorkers)", TypeConverters.toFloat)
    maxIter = Param(Params._dummy(), "maxIter", "iterations per worker (0: the solver's)",
                    TypeConverters.toInt)
    testSource = Param(Params._dummy(), "testSource",
                       "an LMDB on the driver the center is tested on (empty: the solver's)",
                       TypeConverters.toString)
    workdir = Param(Params._dummy(), "workdir",
                    "the job's folder on the driver (empty: a new temporary one)",
                    TypeConverters.toString)
    threads = Param(Params._dummy(), "threads", "BLAS threads per worker", TypeConverters.toInt)
    heartbeatTimeoutMs = Param(Params._dummy(), "heartbeatTimeoutMs",
                               "how long a silent worker keeps its rank (0: the default)",
                               TypeConverters.toInt)
    outputPath = Param(Params._dummy(), "outputPath",
                       "a folder on the cluster's filesystem (any Hadoop path) for the center's "
                       "snapshots, the metrics and the final model, copied as the job runs",
                       TypeConverters.toString)
    resumeFrom = Param(Params._dummy(), "resumeFrom",
                       "a center snapshot (PREFIX_iter_N.serverstate, any Hadoop path, its "
                       ".caffemodel beside it) to resume training from", TypeConverters.toString)
    gpu = Param(Params._dummy(), "gpu", "GPUs of each worker's host, as Caffe's --gpu: N, a,b "
                "or all (worker i on ids[i mod count]); empty: the solver's solver_mode",
                TypeConverters.toString)
    feed = Param(Params._dummy(), "feed", "how a task hands its partition to its worker: "
                 "records (a local record file, streamed) or lmdb (a local LMDB)",
                 TypeConverters.toString)

    @keyword_only
    def __init__(self, *, solver=None, solverCwd="", numWorkers=2, mode="async-easgd", tau=0,
                 movingRate=0.0, maxIter=0, testSource="", workdir="", threads=1,
                 heartbeatTimeoutMs=0, inputCol="image", labelCol="label",
                 predictionCol="prediction", probabilityCol="probability", imageShape=None,
                 batchSize=64, feed="records", validationIndicatorCol=None, outputPath="",
                 resumeFrom="", gpu=""):
        super().__init__()
        self._setDefault(solverCwd="", numWorkers=2, mode="async-easgd", tau=0, movingRate=0.0,
                         maxIter=0, testSource="", workdir="", threads=1, heartbeatTimeoutMs=0,
                         labelCol="label", feed="records", outputPath="", resumeFrom="",
                         gpu="")
        kwargs = {k: v for k, v in self._input_kwargs.items() if v is not None}
        self._set(**kwargs)

    @keyword_only
    def setParams(self, **kwargs):
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def _fit(self, dataset):
        get = self.getOrDefault
        if not self.isDefined(self.solver):
            raise ValueError("DeepSparkClassifier needs solver= (a Caffe solver prototxt)")
        workdir = get(self.workdir) or tempfile.mkdtemp(prefix="deepspark-fit-")
        solver_cwd = get(self.solverCwd) or None
        shape = tuple(get(self.imageShape)) or None
        dataset = _vectors_as_arrays(dataset, [get(self.inputCol)])
        train_df, test_df = dataset, None
        if self.isDefined(self.validationIndicatorCol) and get(self.validationIndicatorCol):
            from pyspark.sql import functions as F
            marked = F.col(get(self.validationIndicatorCol))
            train_df, test_df = dataset.filter(~marked), dataset.filter(marked)
        caffemodel, _ = ds_spark.train(
            train_df, get(self.solver), get(self.numWorkers), mode=get(self.mode),
            tau=get(self.tau) or None, moving_rate=get(self.movingRate) or None,
            image_col=get(self.inputCol), label_col=get(self.labelCol), shape=shape,
            max_iter=get(self.maxIter) or None, test_source=get(self.testSource) or None,
            workdir=workdir, threads=get(self.threads),
            heartbeat_timeout_ms=get(self.heartbeatTimeoutMs) or None, solver_cwd=solver_cwd,
            feed=get(self.feed), test_data=test_df, output_path=get(self.outputPath) or None,
            resume_from=get(self.resumeFrom) or None, gpu=get(self.gpu) or None)
        first = train_df.select(get(self.inputCol)).first()[0]
        image_shape = list(ds_spark._to_chw(first, shape).shape)
        deploy_path = os.path.join(workdir, "deploy.prototxt")
        transform, mean_file = deepspark._deepspark.make_deploy_net(
            os.path.join(workdir, "net.prototxt"), deploy_path, [get(self.batchSize)] + image_shape)
        mean = b""
        if mean_file:
            with open(os.path.join(solver_cwd or "", mean_file), "rb") as f:
                mean = f.read()
        with open(deploy_path) as f:
            deploy = f.read()
        with open(caffemodel, "rb") as f:
            weights = f.read()
        model = DeepSparkModel(deploy=deploy, weights=weights, transform=transform, mean=mean)
        model._set(inputCol=get(self.inputCol), predictionCol=get(self.predictionCol),
                   probabilityCol=get(self.probabilityCol), imageShape=image_shape,
                   batchSize=get(self.batchSize))
        return model


def _vectors_as_arrays(dataset, columns):
    """Spark ML vector columns as array<double> (Arrow, and so mapInPandas,
    does not carry vectors; a dense array of pixels is what they hold)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    for field in dataset.schema.fields:
        if field.name in columns and isinstance(field.dataType, VectorUDT):
            dataset = dataset.withColumn(field.name, vector_to_array(field.name))
    return dataset


# Executors keep one net per transform call (keyed by a random key made
# with its broadcast), built on first use by each Python worker.
_NETS = {}


def _executor_net(bc, key):
    net = _NETS.get(key)
    if net is None:
        deploy, weights, _, _ = bc.value
        folder = tempfile.mkdtemp(prefix="deepspark-model-", dir=ds_spark._local_dir())
        with open(os.path.join(folder, "deploy.prototxt"), "w") as f:
            f.write(deploy)
        with open(os.path.join(folder, "model.caffemodel"), "wb") as f:
            f.write(weights)
        net = deepspark.Net(os.path.join(folder, "deploy.prototxt"), deepspark.TEST,
                            weights=os.path.join(folder, "model.caffemodel"))
        _NETS[key] = net
    return net


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _score(bc, key, shape, batch):
    """The pandas UDF's function: each Arrow batch of the input column ->
    a frame of (prediction, probability)."""
    from typing import Iterator

    import pandas as pd

    # The type hints make it an iterator-of-Series UDF (one net per Python
    # worker, used for every batch).
    def run(series_batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        net = _executor_net(bc, key)
        _, _, transform, mean = bc.value
        data_name = net.inputs[0]
        out_name = net.outputs[0]
        last = len(net._net.layer_names) - 1
        is_softmax = net._net.layer_type(last) == "Softmax"
        for images in series_batches:
            predictions, probabilities = [], []
            # A struct column (Spark's image source) comes as a frame.
            images = (images.to_dict("records") if isinstance(images, pd.DataFrame)
                      else images.tolist())
            for start in range(0, len(images), batch):
                chunk = np.stack([ds_spark._to_chw(x, shape) for x in images[start:start + batch]])
                inputs = deepspark._deepspark.transform_images(transform, chunk, mean)
                blob = net.blobs[data_name]
                if blob.data.shape[0] != len(inputs):
                    blob.reshape(*inputs.shape)
                    net.reshape()
                blob.data[...] = inputs
                scores = np.array(net.forward()[out_name]).reshape(len(inputs), -1)
                probs = scores if is_softmax else _softmax(scores)
                predictions.extend(np.argmax(probs, axis=1).astype(float).tolist())
                probabilities.extend(p.astype(np.float32) for p in probs)
            yield pd.DataFrame({"prediction": predictions, "probability": probabilities})
    return run


class DeepSparkModel(Model, _ModelParams, MLReadable, MLWritable):
    """A trained net that scores images: transform adds predictionCol (the
    class, a double) and probabilityCol (array<float>)."""

    def __init__(self, deploy="", weights=b"", transform=b"", mean=b""):
        super().__init__()
        self._deploy, self._weights = deploy, bytes(weights)
        self._transform_param, self._mean = bytes(transform), bytes(mean)

    @property
    def deploy_prototxt(self):
        """The net run by transform (text)."""
        return self._deploy

    @property
    def caffemodel(self):
        """The trained weights: the bytes of a .caffemodel."""
        return self._weights

    def _transform(self, dataset):
        """Adds the two columns through an Arrow-backed pandas UDF on the
        input column alone, so every other column (vectors included) passes
        through as it is."""
        from pyspark.ml.functions import vector_to_array
        from pyspark.ml.linalg import VectorUDT
        from pyspark.sql import functions as F
        from pyspark.sql.types import ArrayType, DoubleType, FloatType, StructField, StructType
        sc = dataset.sparkSession.sparkContext
        bc = sc.broadcast((self._deploy, self._weights, self._transform_param, self._mean))
        get = self.getOrDefault
        shape = tuple(get(self.imageShape)) or None
        schema = StructType([StructField("prediction", DoubleType()),
                             StructField("probability", ArrayType(FloatType()))])
        score = F.pandas_udf(_score(bc, uuid.uuid4().hex, shape, get(self.batchSize)), schema)
        column = F.col(get(self.inputCol))
        if isinstance(dataset.schema[get(self.inputCol)].dataType, VectorUDT):
            column = vector_to_array(column)
        scored = "__deepspark_scored_" + uuid.uuid4().hex[:8]
        return (dataset.withColumn(scored, score(column))
                .withColumn(get(self.predictionCol), F.col(scored + ".prediction"))
                .withColumn(get(self.probabilityCol), F.col(scored + ".probability"))
                .drop(scored))

    def copy(self, extra=None):
        that = DeepSparkModel(self._deploy, self._weights, self._transform_param, self._mean)
        return self._copyValues(that, extra)

    def write(self):
        return _ModelWriter(self)

    @classmethod
    def read(cls):
        return _ModelReader(cls)


# The model's files, written and read through the JVM's Hadoop FileSystem
# from the driver (deepspark.hadoop_fs), so a path may be local, HDFS, S3 or
# any Hadoop scheme.
_FILES = (("deploy.prototxt", "_deploy"), ("model.caffemodel", "_weights"),
          ("transform.pb", "_transform_param"), ("mean.binaryproto", "_mean"))


class _ModelWriter(MLWriter):
    def __init__(self, instance):
        super().__init__()
        self.instance = instance

    def saveImpl(self, path):
        DefaultParamsWriter.saveMetadata(self.instance, path, self.sc)
        for name, attr in _FILES:
            data = getattr(self.instance, attr)
            if isinstance(data, str):
                data = data.encode()
            if data or name != "mean.binaryproto":
                hadoop_fs.write_bytes(self.sc, path.rstrip("/") + "/" + name, data)


class _ModelReader(MLReader):
    def __init__(self, cls):
        super().__init__()
        self.cls = cls

    def load(self, path):
        metadata = DefaultParamsReader.loadMetadata(path, self.sc)
        parts = {}
        for name, attr in _FILES:
            data = hadoop_fs.read_bytes(self.sc, path.rstrip("/") + "/" + name)
            if data is None and name != "mean.binaryproto":
                raise deepspark.DeepSparkError("%s/%s is missing: not a saved DeepSparkModel"
                                               % (path, name))
            parts[attr] = data or b""
        model = self.cls(parts["_deploy"].decode(), parts["_weights"],
                         parts["_transform_param"], parts["_mean"])
        DefaultParamsReader.getAndSetParams(model, metadata)
        return model
