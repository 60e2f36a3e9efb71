# Sourced by the scripts: sets SHARED to the fixtures folder (caffe-zoo,
# datasets): $DEEPSPARK_SHARED_DIR, else ../shared next to the checkout, else
# /work/shared (so a clone anywhere, e.g. /tmp/x, still finds them). The C++
# tests (tests/test_util.hpp) and python/tests/conftest.py use the same rule.
# Needs ROOT (the checkout).
SHARED="${DEEPSPARK_SHARED_DIR:-$ROOT/../shared}"
[ -d "$SHARED" ] || SHARED=/work/shared
