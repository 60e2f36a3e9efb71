#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (C++ through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 900
