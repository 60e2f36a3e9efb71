#!/usr/bin/env python3
"""Classifies images with a trained net, pycaffe style: caffe.Classifier over
a list file ("path label" lines, as Caffe's convert_imageset reads), and one
image by hand through caffe.io.Transformer to show the two agree.

    python3 classify.py DEPLOY.prototxt WEIGHTS.caffemodel LIST [--gray]

Written for pycaffe; the one change is the first import line."""
import argparse
import os

import numpy as np

import deepspark as caffe


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_def")
    parser.add_argument("pretrained_model")
    parser.add_argument("list_file")
    parser.add_argument("--gray", action="store_true", help="one-channel images")
    parser.add_argument("--raw_scale", type=float, default=255.0)
    parser.add_argument("--input_scale", type=float, default=0.00390625)
    args = parser.parse_args()

    caffe.set_mode_cpu()
    root = os.path.dirname(os.path.abspath(args.list_file))
    paths, labels = [], []
    with open(args.list_file) as f:
        for line in f:
            path, label = line.split()
            paths.append(os.path.join(root, path))
            labels.append(int(label))
    images = [caffe.io.load_image(p, color=not args.gray) for p in paths]

    net = caffe.Classifier(args.model_def, args.pretrained_model,
                           image_dims=images[0].shape[:2], raw_scale=args.raw_scale,
                           input_scale=args.input_scale)
    predictions = net.predict(images, oversample=False)
    guessed = predictions.argmax(axis=1)
    print("accuracy %.4f on %d images" % (np.mean(guessed == np.array(labels)), len(labels)))

    # The same first image by hand: the Transformer's steps, one forward.
    shape = net.blobs["data"].data.shape
    transformer = caffe.io.Transformer({"data": shape})
    transformer.set_transpose("data", (2, 0, 1))
    transformer.set_raw_scale("data", args.raw_scale)
    transformer.set_input_scale("data", args.input_scale)
    net.blobs["data"].reshape(1, *shape[1:])
    net.blobs["data"].data[...] = transformer.preprocess("data", images[0])
    out = net.forward()
    probs = out[net.outputs[0]][0]
    print("first image: class %d (p=%.4f), Classifier said %d"
          % (probs.argmax(), probs.max(), guessed[0]))
    print("max |by hand - Classifier| = %.2e" % np.abs(probs - predictions[0]).max())


if __name__ == "__main__":
    main()
