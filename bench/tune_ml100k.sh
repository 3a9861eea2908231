#!/usr/bin/env bash
# Hyper-parameter sweep behind `reco pipeline`'s defaults, on the benchmark
# protocol (ml-100k, stratified 75/25 per user, seed 42, k = 10).
# Usage: bench/tune_ml100k.sh RECO_BIN [DATA_FILE]
# Writes bench/results/tuning_ml100k.tsv (one row per configuration).
set -euo pipefail
cd "$(dirname "$0")/.."
reco=${1:?usage: bench/tune_ml100k.sh RECO_BIN [DATA_FILE]}
data=${2:-${RECO_DATA_DIR:-../shared/data/movielens}/ml-100k/u.data}
out=bench/results/tuning_ml100k.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'model\tfactors\treg\talpha_or_biases\trmse\tmae\tprecision@10\trecall@10\tndcg@10\tmap@10\tcatalog_coverage\n' >"$out.tmp"
row() {  # model factors reg extra  <- reads the summary line of reco pipeline
  awk -v m="$1" -v f="$2" -v r="$3" -v x="$4" -v OFS='\t' \
    '$1 == m"-als" { print m, f, r, x, $2, $3, $5, $6, $7, $8, $9 }'
}
for f in 32 64 128; do for a in 1 3 10; do for r in 1 10 50 100; do
  "$reco" pipeline --data "$data" --models implicit --out "$tmp" --threads 2 \
    --implicit-factors "$f" --implicit-alpha "$a" --implicit-reg "$r" 2>/dev/null |
    row implicit "$f" "$r" "alpha=$a" >>"$out.tmp"
done; done; done
for f in 10 20 50; do for r in 0.05 0.1 0.15; do for b in 1 0; do
  "$reco" pipeline --data "$data" --models explicit --out "$tmp" --threads 2 \
    --explicit-factors "$f" --explicit-reg "$r" --explicit-biases "$b" 2>/dev/null |
    row explicit "$f" "$r" "biases=$b" >>"$out.tmp"
done; done; done
mv "$out.tmp" "$out"
echo "wrote $out ($(($(wc -l <"$out") - 1)) configurations)"
