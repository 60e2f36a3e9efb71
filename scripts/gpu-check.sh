#!/usr/bin/env bash
# The GPU checks, in one call on a machine with a GPU (the lent H200; see
# DEVELOPERS.md, "The GPU machine"): builds the CUDA tree unless build/ has
# one, queries the devices, runs the GPU tests (the Gpu* suites of
# deepspark_tests: on a machine without a GPU they report SKIPPED), and prints
# a short table last. Files: $OUT (default build/gpu-check): device-query.txt,
# gpu-tests.json (GoogleTest's report), gpu-tests.log, table.md.
#
# The GPU tests include a 300-iteration LeNet training on MNIST, which reads
# the shared datasets (DEEPSPARK_SHARED_DIR, as every test). Not yet here
# (issue 9): the 10,000-iteration LeNet run and the step timings beside
# PyTorch; and the machine needs the project's libraries (it has nvcc, CMake
# and ninja, not Debian's -dev packages).
#
# Usage: scripts/gpu-check.sh            (OUT=... to choose the folder)
# On the lent machine: scripts/gpu-bundle.sh here first, then the device
# tool's run(command="OUT=$OUT scripts/gpu-check.sh", carry=[".gpu-bundle"]).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-build/gpu-check}"
mkdir -p "$OUT"

# The binaries: from .gpu-bundle/bundle.tar.xz (scripts/gpu-bundle.sh, made
# where the project's libraries are installed) when it is there, else a CUDA
# build here.
TOOL=build/deepspark
TESTS=build/deepspark_tests
if [ -f .gpu-bundle/bundle.tar.xz ]; then
  unpack="$(mktemp -d)"
  trap 'rm -rf "$unpack"' EXIT
  xz -dc .gpu-bundle/bundle.tar.xz | tar -C "$unpack" -xf - || { echo "gpu-check: bad bundle" >&2; exit 1; }
  export LD_LIBRARY_PATH="$unpack/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  TOOL="$unpack/bundle/deepspark"
  TESTS="$unpack/bundle/deepspark_tests"
  export DEEPSPARK_TOOL_PATH="$TOOL"
  # cuBLAS from the machine's toolkit or from PyTorch's wheel, whichever is there.
  if [ -z "${DEEPSPARK_CUBLAS:-}" ]; then
    for f in /usr/local/cuda/lib64/libcublas.so.13 \
             $(python3 -c 'import nvidia.cublas, os; print(os.path.join(nvidia.cublas.__path__[0], "lib", "libcublas.so.13"))' 2>/dev/null); do
      if [ -f "$f" ]; then export DEEPSPARK_CUBLAS="$f"; break; fi
    done
  fi
elif ! grep -q "CMAKE_CUDA_COMPILER:" build/CMakeCache.txt 2>/dev/null || [ ! -x "$TESTS" ]; then
  cmake -S . -B build -G Ninja -DDEEPSPARK_CUDA=ON -DDEEPSPARK_BUILD_BENCH=OFF >/dev/null &&
    ninja -C build deepspark_tests deepspark_tool || { echo "gpu-check: build failed" >&2; exit 1; }
fi
echo "tool: $TOOL; cuBLAS: ${DEEPSPARK_CUBLAS:-found by the loader}"

"$TOOL" device-query > "$OUT/device-query.txt" 2>&1
query_rc=$?
cat "$OUT/device-query.txt"
"$TESTS" --gtest_filter='Gpu*:*/Gpu*:ComputeMode*' --gtest_output="json:$OUT/gpu-tests.json" \
  > "$OUT/gpu-tests.log" 2>&1
tests_rc=$?
tail -n 30 "$OUT/gpu-tests.log"

python3 - "$OUT" "$query_rc" "$tests_rc" <<'PY' | tee "$OUT/table.md"
import json, os, sys
out, query_rc, tests_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
name = "none"
with open(os.path.join(out, "device-query.txt")) as f:
    for line in f:
        if line.startswith("Name:"):
            name = line.split(":", 1)[1].strip()
            break
print("GPU: %s (device-query exit %d)" % (name, query_rc))
print()
print("| test | result | ms |")
print("| --- | --- | --- |")
counts = {}
try:
    with open(os.path.join(out, "gpu-tests.json")) as f:
        report = json.load(f)
    for suite in report.get("testsuites", []):
        for t in suite.get("testsuite", []):
            if t.get("failures"):
                result = "FAILED"
            elif t.get("result") == "SKIPPED":
                result = "SKIPPED"
            else:
                result = "passed"
            counts[result] = counts.get(result, 0) + 1
            ms = float(t.get("time", "0s").rstrip("s")) * 1000
            print("| %s.%s | %s | %.0f |" % (suite["name"], t["name"], result, ms))
except (OSError, ValueError) as e:
    print("| (no test report: %s) | FAILED | |" % e)
    counts["FAILED"] = 1
print()
print("tests: " + ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items()))
      + " (exit %d)" % tests_rc)
PY
exit "$tests_rc"
