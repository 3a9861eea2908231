#!/usr/bin/env bash
# Trains a model and publishes its precomputed lists as the store's active
# version: what the compose `train` service and the Kubernetes Job/CronJob run
# (installed in the image as /usr/local/bin/reco-train). Safe to re-run: the
# data set is fetched once, every run writes a new store version and activates
# it atomically, and old versions beyond RECO_KEEP_VERSIONS are pruned.
#
# Environment (defaults in brackets):
#   RECO_STORE          store URI, e.g. redis://redis:6379 (required)
#   RECO_STATE_DIR      persistent directory for data, models, registry, events [/var/lib/reco]
#   RECO_DATA           interactions file to train on; empty: fetch RECO_DATASET []
#   RECO_DATASET        ml-100k | ml-1m | ml-latest-small [ml-100k]
#   RECO_DATA_FROM      local copy of the data set to use instead of downloading []
#   RECO_MODEL          implicit | explicit: which model is served [implicit]
#   RECO_K              items per user list [10]
#   RECO_KEEP_VERSIONS  inactive store versions kept for rollback [2]
#   RECO_THREADS        worker threads, 0 = one per core [0]
#   RECO_TRAIN_MODE     auto | pipeline | retrain [auto]
#                       pipeline: reco pipeline (split, train, evaluate, report) + reco precompute
#                       retrain:  reco retrain (train on data + the event log, register the model
#                                 in the registry, precompute, activate); auto picks retrain when the
#                                 binary has it
#   RECO_INGEST_URL     retrain mode with an ingest server (`reco serve --events --registry`),
#                       e.g. http://reco-ingest: after the run, POST .../v1/admin/models/V/activate
#                       so that server folds new events into the new model too []
#   RECO_API_KEYS_FILE  API keys file (one per line, # comments) for that POST; or RECO_API_KEYS
#                       (comma-separated), as `reco serve` reads them []
#   RECO_BIN            the reco binary [reco]
set -euo pipefail

reco=${RECO_BIN:-reco}
store=${RECO_STORE:?RECO_STORE must name the store, e.g. redis://redis:6379}
state=${RECO_STATE_DIR:-/var/lib/reco}
dataset=${RECO_DATASET:-ml-100k}
data=${RECO_DATA:-}
model=${RECO_MODEL:-implicit}
k=${RECO_K:-10}
keep=${RECO_KEEP_VERSIONS:-2}
threads=${RECO_THREADS:-0}
mode=${RECO_TRAIN_MODE:-auto}

case "$model" in
  implicit | explicit) ;;
  *) echo "reco-train: RECO_MODEL must be implicit or explicit, not '$model'" >&2; exit 2 ;;
esac
case "$mode" in
  auto)
    mode=pipeline
    # `reco X --help` prints the top-level help for an unknown X, so look the
    # subcommand up in the list instead.
    if "$reco" --help | grep -qE '^  retrain( |$)'; then mode=retrain; fi
    ;;
  pipeline | retrain) ;;
  *) echo "reco-train: RECO_TRAIN_MODE must be auto, pipeline or retrain, not '$mode'" >&2; exit 2 ;;
esac

mkdir -p "$state"
if [ -z "$data" ]; then
  case "$dataset" in
    ml-100k) file=u.data ;;
    ml-1m) file=ratings.dat ;;
    ml-latest-small) file=ratings.csv ;;
    *) echo "reco-train: unknown RECO_DATASET '$dataset' (set RECO_DATA to a file instead)" >&2; exit 2 ;;
  esac
  from=()
  if [ -n "${RECO_DATA_FROM:-}" ]; then from=(--from "$RECO_DATA_FROM"); fi
  # Keeps a copy that still verifies against its SHA256SUMS; fetches otherwise.
  "$reco" data fetch "$dataset" --dest "$state/data" "${from[@]}"
  data=$state/data/$dataset/$file
  name=$dataset
else
  name=$(basename "$data")
  name=${name%.*}
fi
echo "reco-train: mode $mode, data $data, model $model, store $store"

if [ "$mode" = retrain ]; then
  mkdir -p "$state/events" "$state/registry"
  kind=()
  if [ "$model" = implicit ]; then kind=(--implicit); fi
  # Named here so that the ingest server can be told which version to load.
  version=$(date -u +%Y%m%dT%H%M%S.%3NZ)
  # The read replicas follow the store's active version by themselves, but an
  # ingest server keeps folding events into the model it loaded until told:
  # with one, it does the activation (model, lists and registry at once).
  activation=()
  if [ -n "${RECO_INGEST_URL:-}" ]; then activation=(--no-activate); fi
  "$reco" retrain --data "$data" --events "$state/events" --registry "$state/registry" \
    --store "$store" --version "$version" "${kind[@]}" --k "$k" --threads "$threads" "${activation[@]}"
  if [ -n "${RECO_INGEST_URL:-}" ]; then
    key=${RECO_API_KEYS:-}
    key=${key%%,*}
    if [ -z "$key" ] && [ -n "${RECO_API_KEYS_FILE:-}" ]; then
      key=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$RECO_API_KEYS_FILE" | head -n1 | tr -d '[:space:]')
    fi
    if [ -z "$key" ]; then
      echo "reco-train: RECO_INGEST_URL is set but no API key (RECO_API_KEYS_FILE or RECO_API_KEYS)" >&2
      exit 2
    fi
    url=${RECO_INGEST_URL%/}/v1/admin/models/$version/activate
    # The key goes through stdin, not the command line.
    set +e
    code=$(printf 'Authorization: Bearer %s\n' "$key" |
      curl -sS -o /dev/stderr -w '%{http_code}' -X POST -H @- --max-time 120 "$url")
    rc=$?
    set -e
    echo >&2  # the response body has no trailing newline
    if [ "$rc" -eq 0 ] && [ "$code" = 200 ]; then
      echo "reco-train: ingest server now serves $version"
    elif [ "$rc" -eq 7 ] || [ "$rc" -eq 28 ] || [ "$code" = 503 ]; then
      # Not up (yet): activate here; it loads the active version when it starts.
      echo "reco-train: ingest server not reachable or not ready ($url: curl $rc, HTTP $code);" \
        "activating $version in the store and registry" >&2
      "$reco" models activate "$version" --registry "$state/registry" --store "$store"
    else
      echo "reco-train: activating $version on the ingest server failed ($url: curl $rc, HTTP $code);" \
        "it is registered and precomputed but not active" >&2
      exit 1
    fi
  fi
else
  out=$state/out/$name
  "$reco" pipeline --data "$data" --out "$out" --models "$model" --k "$k" --threads "$threads"
  "$reco" precompute --model "$out/$model-als.model" --store "$store" --k "$k" --threads "$threads"
fi
"$reco" store prune --store "$store" --keep "$keep"
"$reco" store versions --store "$store"
