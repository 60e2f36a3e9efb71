"""A Python data layer reading MNIST's IDX files (gzipped) itself, as FCN's
voc_layers.py reads its images: configured by param_str, a new shuffled
batch each forward. Written for pycaffe; the one change is the first import
line."""
import gzip
import os

import numpy as np

import deepspark as caffe


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


class MnistDataLayer(caffe.Layer):
    """top[0]: batch x 1 x 28 x 28 images scaled to [0, 1); top[1]: labels.
    param_str: "{'mnist_dir': ..., 'split': 'train' or 't10k', 'batch_size': N,
    'seed': S}" (a Python dict, as FCN's layers take)."""

    def setup(self, bottom, top):
        params = eval(self.param_str)
        self.batch_size = int(params["batch_size"])
        split = params["split"]
        if len(top) != 2:
            raise Exception("Need to define two tops: data and label.")
        if len(bottom) != 0:
            raise Exception("Do not define a bottom.")
        images = read_idx(os.path.join(params["mnist_dir"], split + "-images-idx3-ubyte.gz"))
        self.labels = read_idx(os.path.join(params["mnist_dir"], split + "-labels-idx1-ubyte.gz"))
        self.images = images.astype(np.float32) / 256.0
        self.rng = np.random.RandomState(params.get("seed", 1337))
        self.order = self.rng.permutation(len(self.labels))
        self.pos = 0

    def reshape(self, bottom, top):
        top[0].reshape(self.batch_size, 1, 28, 28)
        top[1].reshape(self.batch_size)

    def forward(self, bottom, top):
        for i in range(self.batch_size):
            if self.pos == len(self.order):
                self.order, self.pos = self.rng.permutation(len(self.labels)), 0
            top[0].data[i, 0] = self.images[self.order[self.pos]]
            top[1].data[i] = self.labels[self.order[self.pos]]
            self.pos += 1

    def backward(self, top, propagate_down, bottom):
        pass
