#!/usr/bin/env python3
"""Caffe's "Learning LeNet" notebook as a script: NetSpec writes the train and
test nets, an SGD solver trains them step by step, and the test net scores.

    python3 learn_lenet.py TRAIN_LMDB TEST_LMDB OUT_DIR [ITERATIONS]

Written for pycaffe; the one change is the first import line."""
import os
import sys

import numpy as np

import deepspark as caffe
from caffe import layers as L, params as P


def lenet(lmdb, batch_size):
    # our version of LeNet: a series of linear and simple nonlinear transformations
    n = caffe.NetSpec()
    n.data, n.label = L.Data(batch_size=batch_size, backend=P.Data.LMDB, source=lmdb,
                             transform_param=dict(scale=1. / 255), ntop=2)
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20,
                            weight_filler=dict(type='xavier'))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, kernel_size=5, num_output=50,
                            weight_filler=dict(type='xavier'))
    n.pool2 = L.Pooling(n.conv2, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.fc1 = L.InnerProduct(n.pool2, num_output=500, weight_filler=dict(type='xavier'))
    n.relu1 = L.ReLU(n.fc1, in_place=True)
    n.score = L.InnerProduct(n.relu1, num_output=10, weight_filler=dict(type='xavier'))
    n.loss = L.SoftmaxWithLoss(n.score, n.label)
    return n.to_proto()


def main():
    train_lmdb, test_lmdb, out = sys.argv[1:4]
    niter = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    train_net = os.path.join(out, "lenet_auto_train.prototxt")
    test_net = os.path.join(out, "lenet_auto_test.prototxt")
    with open(train_net, "w") as f:
        f.write(str(lenet(train_lmdb, 64)))
    with open(test_net, "w") as f:
        f.write(str(lenet(test_lmdb, 100)))
    solver_path = os.path.join(out, "lenet_auto_solver.prototxt")
    with open(solver_path, "w") as f:
        f.write('train_net: "%s"\ntest_net: "%s"\ntest_iter: 10\ntest_interval: 100000\n'
                'base_lr: 0.01\nmomentum: 0.9\nweight_decay: 0.0005\nlr_policy: "inv"\n'
                'gamma: 0.0001\npower: 0.75\ndisplay: 100\nmax_iter: 10000\n'
                'snapshot: 5000\nsnapshot_prefix: "%s/lenet"\n' % (train_net, test_net, out))

    caffe.set_mode_cpu()
    solver = caffe.SGDSolver(solver_path)
    print([(k, v.data.shape) for k, v in solver.net.blobs.items()])
    print([(k, v[0].data.shape) for k, v in solver.net.params.items()])

    train_loss = np.zeros(niter)
    for it in range(niter):
        solver.step(1)  # SGD by Caffe
        train_loss[it] = solver.net.blobs['loss'].data
    correct = 0
    for test_it in range(10):
        solver.test_nets[0].forward()
        correct += sum(solver.test_nets[0].blobs['score'].data.argmax(1)
                       == solver.test_nets[0].blobs['label'].data)
    print("first loss %.4f, last loss %.4f" % (train_loss[0], train_loss[-1]))
    print("test accuracy %.4f" % (correct / 1e3))


if __name__ == "__main__":
    main()
