#!/usr/bin/env python3
"""LeNet trained from a Python data layer (mnist_layer.MnistDataLayer, beside
this script) with pycaffe's solver loop, then scored on the test split.

    python3 train_python_data.py MNIST_DIR OUT_DIR [ITERATIONS]

Written for pycaffe; the one change is the first import line."""
import os
import sys

import deepspark as caffe
from caffe import layers as L, params as P


def lenet(mnist_dir, split, batch_size):
    n = caffe.NetSpec()
    param_str = repr(dict(mnist_dir=mnist_dir, split=split, batch_size=batch_size, seed=1))
    n.data, n.label = L.Python(module="mnist_layer", layer="MnistDataLayer", ntop=2,
                               param_str=param_str)
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20,
                            weight_filler=dict(type="xavier"))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, kernel_size=5, num_output=50,
                            weight_filler=dict(type="xavier"))
    n.pool2 = L.Pooling(n.conv2, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.ip1 = L.InnerProduct(n.pool2, num_output=500, weight_filler=dict(type="xavier"))
    n.relu1 = L.ReLU(n.ip1, in_place=True)
    n.ip2 = L.InnerProduct(n.relu1, num_output=10, weight_filler=dict(type="xavier"))
    n.loss = L.SoftmaxWithLoss(n.ip2, n.label)
    n.accuracy = L.Accuracy(n.ip2, n.label)
    return n.to_proto()


def main():
    mnist_dir, out = sys.argv[1], sys.argv[2]
    niter = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    for split, batch in (("train", 64), ("t10k", 100)):
        with open(os.path.join(out, "py_%s.prototxt" % split), "w") as f:
            f.write(str(lenet(mnist_dir, split, batch)))
    solver_path = os.path.join(out, "py_solver.prototxt")
    with open(solver_path, "w") as f:
        f.write('train_net: "%s/py_train.prototxt"\ntest_net: "%s/py_t10k.prototxt"\n'
                'test_iter: 20\ntest_interval: 100000\nbase_lr: 0.01\nmomentum: 0.9\n'
                'weight_decay: 0.0005\nlr_policy: "inv"\ngamma: 0.0001\npower: 0.75\n'
                'max_iter: 10000\nsnapshot_prefix: "%s/py"\n' % (out, out, out))
    caffe.set_mode_cpu()
    solver = caffe.SGDSolver(solver_path)
    print("data layer:", type(solver.net.layers[0]).__name__,
          solver.net.blobs["data"].data.shape)
    solver.step(niter)
    accuracy = sum(float(solver.test_nets[0].forward()["accuracy"]) for _ in range(20)) / 20
    print("iterations %d, train loss %.4f" % (solver.iter, float(solver.net.blobs["loss"].data)))
    print("test accuracy %.4f" % accuracy)


if __name__ == "__main__":
    main()
