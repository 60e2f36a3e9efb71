import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("DEEPSPARK_SHARED", os.path.abspath(os.path.join(REPO, "..", "shared")))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"
ZOO = os.path.join(SHARED, "caffe-zoo")
MNIST = os.path.join(SHARED, "datasets", "mnist")

try:
    import deepspark  # noqa: F401  (installed with pip)
except ImportError:
    build_py = os.path.join(os.environ.get("DEEPSPARK_BUILD_DIR", os.path.join(REPO, "build")),
                            "python")
    sys.path.insert(0, build_py)
    os.environ["PYTHONPATH"] = build_py + os.pathsep + os.environ.get("PYTHONPATH", "")
    import deepspark  # noqa: F401


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: Spark end-to-end tests (minutes)")


@pytest.fixture(scope="session")
def zoo():
    return ZOO


@pytest.fixture(scope="session")
def mnist_dir():
    return MNIST
