#!/usr/bin/env python3
"""Net surgery as Caffe's notebook does it: a classifier's inner-product
layers recast as convolutions, their parameters copied over, so the net
slides over an input larger than it was trained on.

    python3 net_surgery.py DEPLOY.prototxt WEIGHTS.caffemodel IMAGES.npy OUT_DIR

DEPLOY is LeNet's deploy net (ip1, ip2 inner products); IMAGES.npy holds
28x28 digits in [0, 1]. Written for pycaffe; the one change is the first import line."""
import os
import sys

import numpy as np
from google.protobuf import text_format

import deepspark as caffe
from caffe.proto import caffe_pb2


def fully_convolutional(deploy, height, width):
    """The deploy net with ip1/ip2 as convolutions (ip1's kernel covers the
    feature map a 28x28 input gives) and an input of height x width."""
    net = caffe_pb2.NetParameter()
    text_format.Merge(open(deploy).read(), net)
    net.name += "_full_conv"
    net.layer[0].input_param.shape[0].dim[:] = [1, 1, height, width]
    for layer in net.layer:
        if layer.type == "InnerProduct":
            num_output = layer.inner_product_param.num_output
            first = layer.name == "ip1"
            layer.ClearField("inner_product_param")
            layer.name += "-conv"
            layer.type = "Convolution"
            layer.convolution_param.num_output = num_output
            layer.convolution_param.kernel_size.append(4 if first else 1)
    return net


def main():
    deploy, weights, images_path, out_dir = sys.argv[1:5]
    net = caffe.Net(deploy, weights, caffe.TEST)
    params = ["ip1", "ip2"]
    fc_params = {pr: (net.params[pr][0].data, net.params[pr][1].data) for pr in params}
    for fc in params:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            fc, fc_params[fc][0].shape, fc_params[fc][1].shape))

    images = np.load(images_path)
    big = np.zeros((56, 56), np.float32)  # four digits in a 2 x 2 grid
    for i in range(4):
        big[28 * (i // 2):28 * (i // 2 + 1), 28 * (i % 2):28 * (i % 2 + 1)] = images[i]
    conv_def = os.path.join(out_dir, "lenet_full_conv.prototxt")
    with open(conv_def, "w") as f:
        f.write(text_format.MessageToString(fully_convolutional(deploy, 56, 56)))
    net_full_conv = caffe.Net(conv_def, weights, caffe.TEST)
    params_full_conv = ["ip1-conv", "ip2-conv"]
    conv_params = {pr: (net_full_conv.params[pr][0].data, net_full_conv.params[pr][1].data)
                   for pr in params_full_conv}
    for conv in params_full_conv:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            conv, conv_params[conv][0].shape, conv_params[conv][1].shape))
    for pr, pr_conv in zip(params, params_full_conv):
        conv_params[pr_conv][0].flat = fc_params[pr][0].flat  # flat unrolls the arrays
        conv_params[pr_conv][1][...] = fc_params[pr][1]
    saved = os.path.join(out_dir, "lenet_full_conv.caffemodel")
    net_full_conv.save(saved)

    # The classifier on each digit, and the convolutional net over the grid:
    # its 8 x 8 map of scores (a window every 4 pixels) holds the same
    # four at the digits' offsets.
    net.blobs["data"].reshape(4, 1, 28, 28)
    net.blobs["data"].data[...] = images[:4, None] / 256.0 * 255.0
    single = net.forward()["prob"].copy()
    net_full_conv.blobs["data"].data[0, 0] = big / 256.0 * 255.0
    grid = net_full_conv.forward()["prob"][0]
    print("score map shape", grid.shape)
    print("classes per window:\n", grid.argmax(axis=0))
    diff = max(np.abs(grid[:, 7 * (i // 2), 7 * (i % 2)] - single[i]).max() for i in range(4))
    print("classifier says", single.argmax(axis=1).tolist(),
          "; full-conv at the digits says",
          [int(grid[:, 7 * (i // 2), 7 * (i % 2)].argmax()) for i in range(4)])
    print("max difference %.2e" % diff)
    reloaded = caffe.Net(conv_def, saved, caffe.TEST)
    reloaded.blobs["data"].data[0, 0] = big / 256.0 * 255.0
    print("reloaded surgery equal:",
          bool(np.array_equal(reloaded.forward()["prob"][0], grid)))


if __name__ == "__main__":
    main()
