#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan+UBSan) and runs each one
# for RECO_FUZZ_SECONDS (default 20) from its committed seed corpus
# (fuzz/corpus/<target>/, which also holds every crash input ever found, so a
# fixed crash is replayed on each run). New inputs the fuzzer finds go to a
# scratch copy, not into the repo. A crash, leak, UB report or timeout fails
# the script and leaves the input in build/fuzz/artifacts/.
#
#   bash scripts/fuzz.sh                      # all targets, 20 s each
#   RECO_FUZZ_SECONDS=600 bash scripts/fuzz.sh http_request_fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${RECO_FUZZ_SECONDS:-20}
BUILD=build/fuzz
ALL_TARGETS=(http_request_fuzz event_json_fuzz loader_fuzz model_file_fuzz event_log_fuzz
  rec_list_fuzz registry_meta_fuzz)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DRECO_FUZZ=ON -DRECO_WERROR=ON \
  -DRECO_BUILD_TESTS=OFF -DRECO_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target "${TARGETS[@]}"

mkdir -p "$BUILD/artifacts"
run_one() {
  local target=$1 seconds=$2 build=$3
  local work="$build/corpus-work/$target"
  rm -rf "$work" && mkdir -p "$work"
  cp fuzz/corpus/"${target%_fuzz}"/* "$work"/
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$work" >"$build/$target.log" 2>&1; then
    echo "fuzz: $target: $(grep -o 'stat::number_of_executed_units: [0-9]*' \
      "$build/$target.log" | grep -o '[0-9]*$') runs, no failure in ${seconds} s"
  else
    echo "fuzz: $target FAILED; input and report:" >&2
    ls "$build/artifacts/$target-"* >&2 2>/dev/null || true
    tail -n 60 "$build/$target.log" >&2
    return 1
  fi
}
export -f run_one
# One target per core at a time.
printf '%s\n' "${TARGETS[@]}" |
  xargs -P "$(nproc)" -I{} bash -c 'run_one "$@"' _ {} "$SECONDS_EACH" "$BUILD"
