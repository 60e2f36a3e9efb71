#!/usr/bin/env python3
"""Copy the shared libraries the GPU bundle needs, with some replaced by stubs.

  gpu_bundle_libs.py DEST [--skip REGEX] [--stub SONAME]... BINARY...

scripts/gpu-bundle.sh's helper. The libraries are the BINARYs' dependency
closure (ldd resolves each name; readelf gives each object's NEEDED list),
less those whose path matches --skip (left to the machine: glibc's and GCC's
runtime), copied into DEST under their sonames. A library of glibc's own
(one that needs GLIBC_PRIVATE) found outside --skip is an error: it only
works beside the libc it came with.

A --stub library is replaced by a small one that only satisfies the loader:
every symbol the bundled objects import from it (and that no other loaded
library defines) exists, and a function of it, if ever called, prints that
it was stubbed and aborts. Its own dependencies are then left out unless
something else needs them. Why: Debian's OpenCV image codecs load GDAL,
which loads about 55 more libraries (ICU's data, x265, PDF and SQL clients:
120 MB, roughly half the bundle) for cv::IMREAD_LOAD_GDAL, a flag DeepSpark
never passes, and the device tool's transfer is 64 MiB in all. Every
library here is bound at load (BIND_NOW), so leaving a library out is not
an option; a stub is.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def ldd_paths(binaries):
    """soname -> resolved path, over every binary's ldd output."""
    paths = {}
    for binary in binaries:
        for line in run("ldd", binary).splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if m:
                paths.setdefault(m.group(1), m.group(2))
            m = re.match(r"\s*(/\S+) \(0x", line)  # the loader itself
            if m:
                paths.setdefault(os.path.basename(m.group(1)), m.group(1))
    return paths


def needed(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", path))


def dynamic_symbols(path):
    """(defined, undefined): defined maps name -> (type, size); undefined is a set."""
    defined, undefined = {}, set()
    for line in run("readelf", "--dyn-syms", "--wide", path).splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(fields) < 8 or not fields[0].rstrip(":").isdigit():
            continue
        size, kind, bind, ndx, name = fields[2], fields[3], fields[4], fields[6], fields[7]
        if bind == "LOCAL" or not name:
            continue
        base = name.split("@")[0]
        if ndx == "UND":
            undefined.add(base)
        elif kind in ("FUNC", "IFUNC", "OBJECT", "TLS", "NOTYPE"):
            defined[base] = (kind, int(size, 0))
    return defined, undefined


def write_stub(soname, real_path, consumers, others, dest):
    """Builds DEST/soname: the symbols consumers import from real_path."""
    if "Version definition section" in run("readelf", "-V", real_path):
        sys.exit("gpu_bundle_libs: %s has symbol versions; a stub of it is not supported" % soname)
    provided, _ = dynamic_symbols(real_path)
    wanted = set()
    for path in consumers:
        wanted |= dynamic_symbols(path)[1]
    elsewhere = set()
    for path in others:
        elsewhere |= set(dynamic_symbols(path)[0])
    names = sorted(n for n in wanted if n in provided and n not in elsewhere)
    lines = ["#include <stdio.h>", "#include <stdlib.h>",
             "static void Stubbed(const char* name) {",
             '  fprintf(stderr, "%%s: %s is a stub in the GPU bundle (scripts/gpu-bundle.sh)\\n",'
             % soname,
             "          name);", "  abort();", "}"]
    for i, name in enumerate(names):
        kind, size = provided[name]
        if kind == "TLS":
            sys.exit("gpu_bundle_libs: %s exports thread-local %s; no stub" % (soname, name))
        if kind in ("FUNC", "IFUNC", "NOTYPE"):
            lines.append('void f%d(void) __asm__("%s");' % (i, name))
            lines.append('void f%d(void) { Stubbed("%s"); }' % (i, name))
        else:
            lines.append('char d%d[%d] __asm__("%s");' % (i, max(size, 1), name))
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "stub.c")
        with open(source, "w") as f:
            f.write("\n".join(lines) + "\n")
        run("cc", "-shared", "-fPIC", "-O1", "-w", "-Wl,-soname," + soname, "-o",
            os.path.join(dest, soname), source)
    return len(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest")
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--skip", default="^$", help="regex of library paths not to bundle")
    ap.add_argument("--stub", action="append", default=[], help="soname to replace by a stub")
    args = ap.parse_args()
    skip = re.compile(args.skip)
    paths = ldd_paths(args.binaries)
    os.makedirs(args.dest, exist_ok=True)

    # The closure, not descending into stubbed or skipped libraries.
    bundled, stubbed, system = [], [], []
    seen = set()
    stack = [n for b in args.binaries for n in needed(b)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        path = paths.get(name)
        if path is None:
            sys.exit("gpu_bundle_libs: ldd did not resolve %s" % name)
        if skip.search(path):
            system.append(path)
        elif name in args.stub:
            stubbed.append((name, path))
        else:
            bundled.append((name, path))
            stack.extend(needed(path))
    for name, path in bundled:
        # glibc's own libraries must come with the machine's libc.
        if "GLIBC_PRIVATE" in run("readelf", "-V", "--wide", path):
            sys.exit("gpu_bundle_libs: %s is part of glibc (GLIBC_PRIVATE); add it to --skip" % path)
        shutil.copyfile(path, os.path.join(args.dest, name))
    consumers = list(args.binaries) + [p for _, p in bundled]
    for name, path in stubbed:
        count = write_stub(name, path, consumers, consumers + system, args.dest)
        print("gpu_bundle_libs: %s stubbed (%d symbols)" % (name, count))
    for name in args.stub:
        if name not in dict(stubbed):
            print("gpu_bundle_libs: %s not loaded; nothing to stub" % name)
    total = sum(os.path.getsize(os.path.join(args.dest, n)) for n in os.listdir(args.dest))
    print("gpu_bundle_libs: %d libraries, %.1f MB (%d left to the machine)"
          % (len(os.listdir(args.dest)), total / 1e6, len(system)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
