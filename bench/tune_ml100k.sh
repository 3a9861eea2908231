#!/usr/bin/env bash
# Validation-only tuning study on the benchmark protocol (ml-100k, stratified
# 75/25 per user, seed 42, k = 10, Microsoft Recommenders' metrics).
#
#   1. split the data once into train/test (the benchmark's split);
#   2. `reco tune` on train.csv ALONE: it carves its own validation split
#      from it (20% of each user's training records) and never sees test.csv;
#   3. score the chosen model on test.csv once, at the end.
#
# Usage: bench/tune_ml100k.sh RECO_BIN [DATA_FILE] [TRIALS] [FAMILIES]
# Writes bench/results/tune_ml100k.json (the test metrics of the chosen model,
# tuning seconds, the command) and bench/results/tune_ml100k/trials.{tsv,json}
# (every trial's validation metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
reco=${1:?usage: bench/tune_ml100k.sh RECO_BIN [DATA_FILE] [TRIALS] [FAMILIES]}
data=${2:-${RECO_DATA_DIR:-../shared/data/movielens}/ml-100k/u.data}
trials=${3:-40}
families=${4:-ials,ease,knn}
out=bench/results/tune_ml100k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

"$reco" data split "$data" --split stratified --train-ratio 0.75 --split-seed 42 \
  --train-out "$tmp/train.csv" --test-out "$tmp/test.csv" >/dev/null
start=$(date +%s.%N)
"$reco" tune --train "$tmp/train.csv" --families "$families" --trials "$trials" \
  --metric ndcg@10 --seed 42 --report "$out" -o "$tmp/tuned.model" | tee "$tmp/tune.log"
end=$(date +%s.%N)
"$reco" eval -m "$tmp/tuned.model" --test "$tmp/test.csv" --train "$tmp/train.csv" -k 10 \
  --json "$tmp/eval.json" >/dev/null

best=$(grep '^best: ' "$tmp/tune.log")
python3 - "$tmp/eval.json" "$out/trials.json" "$start" "$end" "$trials" "$families" "$best" \
  >bench/results/tune_ml100k.json <<'EOF'
import json, sys
ev, trials = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(json.dumps({
    "command": f"bash bench/tune_ml100k.sh RECO_BIN DATA {sys.argv[5]} {sys.argv[6]}",
    "protocol": "ml-100k stratified 75/25 per user, seed 42, k=10; tuned on a validation "
                "split of train only, test scored once",
    "tune_seconds": round(float(sys.argv[4]) - float(sys.argv[3]), 2),
    "trials": len(trials["trials"]),
    "best": sys.argv[7],
    "test": ev,
}, indent=2))
EOF
echo "wrote bench/results/tune_ml100k.json and $out/trials.tsv"
