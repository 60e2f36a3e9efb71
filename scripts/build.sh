#!/usr/bin/env bash
# Configures and builds DeepSpark (Release) into build/. Arguments are ninja
# targets (default: everything); the main job needs only `deepspark_tool`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build "$@"
