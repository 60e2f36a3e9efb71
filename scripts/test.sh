#!/usr/bin/env bash
# Installs dependencies, builds (with the Python package), and runs every test:
# C++ through CTest, then Python through pytest (python/tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cmake -S . -B build -G Ninja -DDEEPSPARK_BUILD_PYTHON=ON >/dev/null
ninja -C build
(cd build && ctest --output-on-failure -j2 --timeout 900)
# The distributed tests once more, under ThreadSanitizer (build-tsan/), and
# the C++ suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (build-asan/; all but the fault-injection jobs, for time).
scripts/check-tsan.sh
scripts/check-asan.sh
# The build tree's package (build/python) unless one is installed; conftest.py
# finds it. pytest's exit code 5 (no tests collected) means a broken setup.
set +e
PYTHONPATH="$PWD/build/python${PYTHONPATH:+:$PYTHONPATH}" OPENBLAS_NUM_THREADS=1 \
  "${PYTHON:-python3}" -m pytest -q python/tests
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: the Python test setup is broken" >&2
  exit 1
fi
exit $rc
