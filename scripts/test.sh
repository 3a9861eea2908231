#!/usr/bin/env bash
# The whole test suite, as CI runs it: format check, YAML lint, a warnings-as-errors
# release build with every test (incl. the MovieLens acceptance tests), then an
# AddressSanitizer+UBSan build running the suite again (minus tests labelled
# "slow", which exercise the same code on the full data set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
bash scripts/check-format.sh
bash scripts/lint-yaml.sh

JOBS=$(nproc)
export RECO_PROGRESS=0

cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECO_WERROR=ON >/dev/null
cmake --build build/ci -j "$JOBS"
ctest --test-dir build/ci --output-on-failure -j "$JOBS"

cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
  -DRECO_WERROR=ON -DRECO_SANITIZE=ON -DRECO_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$JOBS" -LE slow
