#!/usr/bin/env python3
"""Write resnet50_b32.prototxt: ResNet-50 (He et al. 2015, Table 1, 50-layer) as a
Caffe train net on DummyData, for the GPU step timings of issue 9.

  make_resnet50.py [--batch 32] [--out bench/nets/resnet50_b32.prototxt]

The layout is the paper's: conv1 7x7/2 64, a 3x3/2 max pool, then bottleneck
blocks [1x1 c, 3x3 c, 1x1 4c] x 3, 4, 6, 3 with c = 64, 128, 256, 512; the
first block of each stage has a projection shortcut (1x1 conv), and the first
block of stages 3-5 has stride 2; then a global 7x7 average pool, fc1000 and
the softmax loss. Input 224x224.

Caffe's style, as in the authors' released Caffe models: every convolution has
no bias and is followed by BatchNorm (batch statistics in TRAIN) and Scale
with a bias term (BatchNorm's gamma and beta); the shortcut joins by an
Eltwise SUM; ReLUs are in place. The stride of a downsampling block sits on
its first 1x1 convolution and on the projection, as in those released models
(torchvision's "v1.5" moves it to the 3x3; the parameter count is the same:
25,557,032). bench/peers/torch_steps.py builds the same net in PyTorch.

Inputs: "data" constant (a gaussian filler would be redrawn on every forward
pass, an RNG cost that is not part of the net and that PyTorch, which draws
its input once, does not pay); "label" uniform in [0, 999.9], which the loss
truncates to a class in [0, 1000).
"""
import argparse
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def layer(name, ltype, bottoms, tops, body=""):
    lines = ["layer {", f'  name: "{name}"', f'  type: "{ltype}"']
    lines += [f'  bottom: "{b}"' for b in bottoms]
    lines += [f'  top: "{t}"' for t in tops]
    if body:
        lines += ["  " + line for line in body.strip().splitlines()]
    lines.append("}")
    return "\n".join(lines)


def conv_bn(out, name, bottom, num_output, kernel, stride, pad, relu, suffix):
    """Convolution (no bias) + BatchNorm + Scale (+ ReLU): Caffe's unit.

    `name` is the convolution's top; the BatchNorm and Scale layers are named
    bn<suffix> and scale<suffix> and run in place on it, as in the released
    models.
    """
    out.append(layer(name, "Convolution", [bottom], [name], f"""
param {{ lr_mult: 1 decay_mult: 1 }}
convolution_param {{
  num_output: {num_output}
  kernel_size: {kernel}
  stride: {stride}
  pad: {pad}
  bias_term: false
  weight_filler {{ type: "msra" }}
}}"""))
    # No batch_norm_param: Caffe's default uses the batch's statistics in TRAIN.
    out.append(layer("bn" + suffix, "BatchNorm", [name], [name]))
    out.append(layer("scale" + suffix, "Scale", [name], [name], """
scale_param { bias_term: true }"""))
    if relu:
        out.append(layer(name + "_relu", "ReLU", [name], [name]))
    return name


def bottleneck(out, bottom, stage, letter, width, stride, project):
    """One bottleneck block, res<stage><letter>; returns its top."""
    block = f"{stage}{letter}"
    if project:
        shortcut = conv_bn(out, f"res{block}_branch1", bottom, 4 * width, 1, stride, 0, False,
                           f"{block}_branch1")
    else:
        shortcut = bottom
    x = conv_bn(out, f"res{block}_branch2a", bottom, width, 1, stride, 0, True,
                f"{block}_branch2a")
    x = conv_bn(out, f"res{block}_branch2b", x, width, 3, 1, 1, True, f"{block}_branch2b")
    x = conv_bn(out, f"res{block}_branch2c", x, 4 * width, 1, 1, 0, False, f"{block}_branch2c")
    top = f"res{block}"
    out.append(layer(top, "Eltwise", [shortcut, x], [top], """
eltwise_param { operation: SUM }"""))
    out.append(layer(top + "_relu", "ReLU", [top], [top]))
    return top


def resnet50(batch):
    out = [layer("data", "DummyData", [], ["data", "label"], f"""
dummy_data_param {{
  shape {{ dim: {batch} dim: 3 dim: 224 dim: 224 }}
  shape {{ dim: {batch} }}
  data_filler {{ type: "constant" value: 0.5 }}
  data_filler {{ type: "uniform" min: 0 max: 999.9 }}
}}""")]
    x = conv_bn(out, "conv1", "data", 64, 7, 2, 3, True, "_conv1")
    out.append(layer("pool1", "Pooling", [x], ["pool1"], """
pooling_param { pool: MAX kernel_size: 3 stride: 2 }"""))
    x = "pool1"
    # (stage number in the paper's naming, bottleneck width, blocks)
    for stage, width, blocks in ((2, 64, 3), (3, 128, 4), (4, 256, 6), (5, 512, 3)):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 2 else 1
            x = bottleneck(out, x, stage, "abcdef"[i], width, stride, project=(i == 0))
    out.append(layer("pool5", "Pooling", [x], ["pool5"], """
pooling_param { pool: AVE kernel_size: 7 stride: 1 }"""))
    out.append(layer("fc1000", "InnerProduct", ["pool5"], ["fc1000"], """
param { lr_mult: 1 decay_mult: 1 }
param { lr_mult: 2 decay_mult: 0 }
inner_product_param {
  num_output: 1000
  weight_filler { type: "gaussian" std: 0.01 }
  bias_filler { type: "constant" value: 0 }
}"""))
    out.append(layer("loss", "SoftmaxWithLoss", ["fc1000", "label"], ["loss"]))
    header = ("# ResNet-50 (He et al. 2015, Table 1) on DummyData, batch %d.\n"
              "# Generated by bench/nets/make_resnet50.py; edit that, not this.\n"
              'name: "ResNet-50"\n' % batch)
    return header + "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", default=os.path.join(HERE, "resnet50_b32.prototxt"))
    args = ap.parse_args()
    with open(args.out, "w") as f:
        f.write(resnet50(args.batch))


if __name__ == "__main__":
    main()
