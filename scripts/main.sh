#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine to a serving API:
#   install dependencies -> build -> fetch MovieLens 100k -> split, train and
#   evaluate explicit + implicit ALS (report in out/ml-100k/) -> retrain the
#   implicit model on all data plus any live events (out/events) into the model
#   registry (out/models), precompute every user's top-10 into LMDB (out/store)
#   and activate it -> serve it on http://127.0.0.1:${RECO_PORT:-8080} with
#   live events (POST /v1/events, API key in out/api-keys) until Ctrl-C.
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

mkdir -p out/events
"$reco" retrain --data data/ml-100k/u.data --events out/events --registry out/models \
  --store lmdb://out/store --implicit --k 10
"$reco" store prune --store lmdb://out/store --keep 2 >/dev/null

# Writes need an API key: one random key, made once, readable by this user only.
if [ ! -s out/api-keys ]; then
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >out/api-keys && echo >>out/api-keys)
fi
key=$(head -n 1 out/api-keys)

"$reco" serve --store lmdb://out/store --registry out/models --events out/events \
  --api-keys-file out/api-keys --port "$port" &
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
# A user the model has never seen rates three films; their list is refreshed
# from those events within milliseconds.
echo "\$ curl -X POST -H 'Authorization: Bearer <out/api-keys>' http://127.0.0.1:$port/v1/events -d '{\"events\":[...]}'"
curl -sS -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$port/v1/events" -d '{"events":[
    {"user_id":"newcomer","item_id":"50","type":"rating","value":5},
    {"user_id":"newcomer","item_id":"172","type":"rating","value":5},
    {"user_id":"newcomer","item_id":"181","type":"rating","value":5}]}'
echo
sleep 0.2
echo "\$ curl 'http://127.0.0.1:$port/v1/users/newcomer/recommendations?k=5'"
curl -sS "http://127.0.0.1:$port/v1/users/newcomer/recommendations?k=5"
echo
echo
if [ "$once" = 1 ]; then exit 0; fi
echo "reco is serving on http://127.0.0.1:$port (report: out/ml-100k/report.html; API key for"
echo "POST /v1/events in out/api-keys; 'reco retrain ... --registry out/models' folds the events in)."
echo "Ctrl-C stops it."
wait "$server"
