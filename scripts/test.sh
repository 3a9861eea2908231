#!/usr/bin/env bash
# The whole test suite, as CI runs it: format check, YAML lint, a warnings-as-errors
# release build with every test (incl. the MovieLens acceptance tests), then an
# AddressSanitizer+UBSan build running the suite again (minus tests labelled
# "slow", which exercise the same code on the full data set), a ThreadSanitizer
# build of the threaded modules' tests (server, real-time engine, stores, event
# log), and every libFuzzer target for RECO_FUZZ_SECONDS each (scripts/fuzz.sh).
# The builds carry no debug info beyond line tables (-g1 for the sanitizers'
# stack traces): it is most of the link time and CI never opens a debugger.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's wall time, so a CI log shows where the time goes.
STAGE_START=$SECONDS
stage_done() {
  echo "test.sh: $1 took $((SECONDS - STAGE_START)) s (total $SECONDS s)"
  STAGE_START=$SECONDS
}
bash scripts/setup-deps.sh
bash scripts/check-format.sh
bash scripts/lint-yaml.sh
stage_done "dependencies and lint"

JOBS=$(nproc)
export RECO_PROGRESS=0

# RelWithDebInfo's -O2, the optimisation level the product is built with, without -g.
cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECO_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
  >/dev/null
cmake --build build/ci -j "$JOBS"
ctest --test-dir build/ci --output-on-failure -j "$JOBS"
stage_done "release build and tests"

cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" \
  -DRECO_WERROR=ON -DRECO_SANITIZE=ON -DRECO_BUILD_BENCH=OFF -DRECO_BUILD_SLOW_TESTS=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$JOBS" -LE slow
stage_done "ASan+UBSan build and tests"

# ThreadSanitizer: only the modules with their own threads, locks and atomics.
# The test binaries run directly (ctest would look for the tests of the modules
# not built here); each is bounded by `timeout`. lmdb_damage forks children
# from a threaded process to catch SIGBUS, which TSan cannot follow.
TSAN_TESTS=(serve/serve_test realtime/realtime_test store/store_test events/events_test)
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" \
  -DRECO_WERROR=ON -DRECO_TSAN=ON -DRECO_BUILD_BENCH=OFF >/dev/null
cmake --build build/tsan -j "$JOBS" --target "${TSAN_TESTS[@]##*/}"
for t in "${TSAN_TESTS[@]}"; do
  echo "tsan: $t"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" OPENBLAS_NUM_THREADS=1 \
    timeout --kill-after=10 1200 "build/tsan/src/$t" --gtest_brief=1 \
    --gtest_filter='-LmdbDamage*'
done
stage_done "TSan build and tests"

bash scripts/fuzz.sh
stage_done "fuzzing"
