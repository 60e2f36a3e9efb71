#!/usr/bin/env python3
"""Turn a stock Caffe train_val prototxt into a self-contained benchmark net.

  make_bench_net.py SRC DST N C H W [--data-filler constant|gaussian]
                    [--label-classes K]

The TRAIN "Data" layer (LMDB-backed) becomes one DummyData layer with tops
"data" (N x C x H x W) and "label" (N, constant 0; with --label-classes K,
uniform in [0, K - 0.1], which the loss truncates to a class in [0, K)), so
Caffe, DeepSpark and any other engine can time the net without a dataset.
Layers that only exist in the TEST phase (the TEST Data layer, Accuracy
layers) are dropped: `caffe time` and `deepspark time` run the TRAIN phase, so
they never count, and dropping them keeps the file independent of each
engine's include/exclude handling.

Why the data filler defaults to "constant": Caffe's DummyData refills every
non-constant top on each forward pass, so a gaussian filler adds one RNG pass
over the input per iteration (tens of ms for AlexNet at batch 32) that is not
part of the net and that libtorch (which draws its input once) does not pay.
Dense conv/GEMM speed does not depend on the values.

Text-level editing on purpose: it needs no protobuf bindings and keeps every
other layer byte for byte as in the zoo file.
"""
import argparse
import re
import sys


def split_layers(text):
    """Return (header, [layer blocks]) for a prototxt with top-level `layer {`.

    Braces inside quoted strings and # comments are ignored.
    """
    blocks, depth, start, header_end = [], 0, None, None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":                       # comment to end of line
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if ch in "\"'":                     # quoted string, with \-escapes
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if depth == 0:
            m = re.compile(r"layers?\s*\{").match(text, i)
            if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                if m.group(0).startswith("layers"):
                    sys.exit("make_bench_net: V1 'layers {' prototxt not supported")
                if header_end is None:
                    header_end = i
                start = i
                depth = 1
                i = m.end()
                continue
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append(text[start:i + 1])
        i += 1
    if depth != 0 or header_end is None:
        sys.exit("make_bench_net: unbalanced braces or no layers")
    return text[:header_end], blocks


def phases(block):
    """Phases named in the layer's include rules (empty: all phases)."""
    return set(re.findall(r"include\s*\{[^{}]*?phase:\s*(TRAIN|TEST)", block))


def layer_type(block):
    m = re.search(r'^\s*type:\s*"([^"]+)"', block, re.M)
    return m.group(1) if m else ""


def dummy_layer(n, c, h, w, data_filler, label_classes=0):
    filler = ('type: "gaussian" std: 1' if data_filler == "gaussian"
              else 'type: "constant" value: 0.5')
    # Caffe's uniform filler may return its max itself: K - 0.1 keeps every
    # label below K once truncated.
    label = (f'type: "uniform" min: 0 max: {label_classes - 0.1:g}' if label_classes > 0
             else 'type: "constant" value: 0')
    return f'''layer {{
  name: "data"
  type: "DummyData"
  top: "data"
  top: "label"
  dummy_data_param {{
    shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }}
    shape {{ dim: {n} }}
    data_filler {{ {filler} }}
    data_filler {{ {label} }}
  }}
}}'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("dims", nargs=4, type=int, metavar="NCHW")
    ap.add_argument("--data-filler", choices=["constant", "gaussian"], default="constant")
    ap.add_argument("--label-classes", type=int, default=0,
                    help="uniform labels over this many classes (default: constant 0)")
    ap.add_argument("--comment", default="", help="text to put first in DST, as # lines")
    args = ap.parse_args()

    header, blocks = split_layers(open(args.src).read())
    kept = [b for b in blocks
            if phases(b) != {"TEST"} and layer_type(b) not in ("Data", "ImageData")]
    if len(kept) == len(blocks):
        sys.exit(f"make_bench_net: no Data layer found in {args.src}")
    with open(args.dst, "w") as f:
        if args.comment:
            f.write("".join("# " + line + "\n" for line in args.comment.splitlines()))
        dummy = dummy_layer(*args.dims, args.data_filler, args.label_classes)
        f.write(header + "\n".join([dummy] + kept) + "\n")


if __name__ == "__main__":
    main()
