#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine to a serving API:
#   install dependencies -> build -> fetch MovieLens 100k -> split, train and
#   evaluate explicit + implicit ALS (report in out/ml-100k/) -> precompute
#   every user's top-10 into LMDB (out/store) -> serve it on
#   http://127.0.0.1:${RECO_PORT:-8080} until Ctrl-C.
# MovieLens comes from $RECO_DATA_DIR (default ../shared/data/movielens) when
# a copy is there, otherwise it is downloaded and checksum-verified.
# `scripts/main.sh --once` stops the server after the sample request.
set -euo pipefail
cd "$(dirname "$0")/.."

once=0
[ "${1:-}" = "--once" ] && once=1
port=${RECO_PORT:-8080}

bash scripts/setup-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRECO_BUILD_TESTS=OFF -DRECO_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target reco
reco=build/release/src/cli/reco

data_from=${RECO_DATA_DIR:-../shared/data/movielens}
from=()
if [ -d "$data_from/ml-100k" ]; then from=(--from "$data_from"); fi
"$reco" pipeline --dataset ml-100k --data-dir data "${from[@]}" --out out/ml-100k

"$reco" precompute --model out/ml-100k/implicit-als.model --store lmdb://out/store --k 10
"$reco" store prune --store lmdb://out/store --keep 2 >/dev/null

"$reco" serve --store lmdb://out/store --port "$port" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
echo
echo "\$ curl 'http://127.0.0.1:$port/v1/users/196/recommendations?k=10'"
curl -sS "http://127.0.0.1:$port/v1/users/196/recommendations?k=10"
echo
echo
if [ "$once" = 1 ]; then exit 0; fi
echo "reco is serving on http://127.0.0.1:$port (report: out/ml-100k/report.html). Ctrl-C stops it."
wait "$server"
