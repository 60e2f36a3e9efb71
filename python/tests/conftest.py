import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("DEEPSPARK_SHARED_DIR") or os.path.abspath(os.path.join(REPO, "..", "shared"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"
ZOO = os.path.join(SHARED, "caffe-zoo")
MNIST = os.path.join(SHARED, "datasets", "mnist")

# The build tree's package (cmake -DDEEPSPARK_BUILD_PYTHON=ON) when it is
# built, else an installed one (pip install .). PYTHONPATH is set too, so
# Spark's Python workers import the same package.
import glob  # noqa: E402

BUILD_PY = os.path.join(os.environ.get("DEEPSPARK_BUILD_DIR", os.path.join(REPO, "build")),
                        "python")
if glob.glob(os.path.join(BUILD_PY, "deepspark", "_deepspark*.so")):
    sys.path.insert(0, BUILD_PY)
    os.environ["PYTHONPATH"] = BUILD_PY + os.pathsep + os.environ.get("PYTHONPATH", "")
import deepspark  # noqa: E402,F401


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: Spark end-to-end tests (minutes)")


@pytest.fixture(scope="session")
def zoo():
    return ZOO


@pytest.fixture(scope="session")
def mnist_dir():
    return MNIST
