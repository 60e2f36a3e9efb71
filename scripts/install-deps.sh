#!/usr/bin/env bash
# Installs what DeepSpark needs on Debian 12 (apt-get; pip for the Python
# side). Safe to run again: it installs only what is missing.
set -euo pipefail
PKGS=(build-essential cmake ninja-build ccache pkg-config
      libprotobuf-dev protobuf-compiler libopenblas-dev libopenblas0-openmp libdnnl-dev
      liblmdb-dev libleveldb-dev libsnappy-dev libopencv-dev libhdf5-dev
      libzmq3-dev cppzmq-dev libcli11-dev libfmt-dev pybind11-dev nlohmann-json3-dev
      libgtest-dev libbenchmark-dev zlib1g-dev graphviz
      dataset-fashion-mnist)  # Fashion-MNIST for the benchmarks (/usr/share/datasets)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python side: the package build (scikit-build-core), numpy, protobuf (for
# deepspark.proto.caffe_pb2 and NetSpec; 4.21 and later read the code that
# Debian's protoc 3.21 generates), and for the tests and the Spark trainer
# pytest and pyspark (Java 17 must be present), pandas and pyarrow, which
# Spark ML's mapInPandas needs (deepspark.ml), and matplotlib, which draws
# `deepspark report`'s plots, Pillow, which the converter tests' reference
# uses, pydot (with graphviz's dot, an apt package above) for caffe.draw, and
# h5py, the tests' independent reader and writer of Caffe's HDF5 snapshots.
PY=${PYTHON:-python3}
if command -v "$PY" >/dev/null 2>&1; then
  pymissing=()
  for spec in numpy:numpy pytest:pytest pyspark:pyspark "pandas:pandas<3" pyarrow:pyarrow \
      scikit_build_core:scikit-build-core "google.protobuf:protobuf>=4.21" \
      matplotlib:matplotlib PIL:pillow pydot:pydot h5py:h5py; do
    mod=${spec%%:*}; pkg=${spec#*:}
    "$PY" -c "import $mod" 2>/dev/null || pymissing+=("$pkg")
  done
  if [ ${#pymissing[@]} -gt 0 ]; then
    echo "pip installing: ${pymissing[*]}"
    "$PY" -m pip install -q "${pymissing[@]}"
  fi
fi
