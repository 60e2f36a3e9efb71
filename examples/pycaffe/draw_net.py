#!/usr/bin/env python3
"""Draws a net's graph to an image (PNG, SVG, PDF, ...: by the file's
extension), as Caffe's python/draw_net.py. Needs pydot and graphviz.
Written for pycaffe; the one change is the first import line."""
from argparse import ArgumentParser, ArgumentDefaultsHelpFormatter

from google.protobuf import text_format

import deepspark as caffe
import caffe.draw
from caffe.proto import caffe_pb2


def parse_args():
    parser = ArgumentParser(description=__doc__, formatter_class=ArgumentDefaultsHelpFormatter)
    parser.add_argument("input_net_proto_file", help="Input network prototxt file")
    parser.add_argument("output_image_file", help="Output image file")
    parser.add_argument("--rankdir", default="LR",
                        help="One of TB (top-bottom), BT, LR (left-right), RL")
    parser.add_argument("--phase", default="ALL", help="TRAIN, TEST or ALL")
    parser.add_argument("--display_lrm", action="store_true",
                        help="Display the learning rate multipliers of the layers")
    return parser.parse_args()


def main():
    args = parse_args()
    net = caffe_pb2.NetParameter()
    text_format.Merge(open(args.input_net_proto_file).read(), net)
    print("Drawing net to %s" % args.output_image_file)
    phase = {"TRAIN": caffe.TRAIN, "TEST": caffe.TEST, "ALL": None}[args.phase.upper()]
    caffe.draw.draw_net_to_file(net, args.output_image_file, args.rankdir, phase,
                                args.display_lrm)


if __name__ == "__main__":
    main()
