#!/usr/bin/env python3
"""Synthetic 10-class data for small cluster jobs: 8x8 grey images where
class k lights every pixel j with j % 10 == k, plus uniform noise; written as
MNIST-style IDX files and converted to an LMDB with `deepspark
convert-mnist`. Usage: blobs.py OUT_LMDB COUNT [SEED]"""
import os
import random
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    side = 8
    with tempfile.TemporaryDirectory() as tmp:
        images, labels = os.path.join(tmp, "images.idx"), os.path.join(tmp, "labels.idx")
        with open(images, "wb") as fi, open(labels, "wb") as fl:
            fi.write(struct.pack(">IIII", 0x803, count, side, side))
            fl.write(struct.pack(">II", 0x801, count))
            for _ in range(count):
                label = rng.randrange(10)
                fl.write(bytes([label]))
                fi.write(bytes(rng.randrange(91) + (140 if j % 10 == label else 0)
                               for j in range(side * side)))
        subprocess.run([os.path.join(ROOT, "build", "deepspark"), "convert-mnist", images, labels,
                        out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
