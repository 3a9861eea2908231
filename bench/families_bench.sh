#!/usr/bin/env bash
# families_bench.sh: what each model family costs to fit and to precompute,
# and what `reco tune` costs, on ml-100k and on `reco data synth` data of
# 1,000,000 interactions.
#
# Usage: bench/families_bench.sh RECO_BIN OUT_JSON [DATA_FILE] [TUNE_TRIALS]
#
# For each data set and family (als, ials, ease, knn, each at its defaults):
#   fit         `reco train --family F` on the whole file: the trainer's own
#               seconds (its "trained in" line, loading excluded), the
#               command's wall time and the model file's size;
#   precompute  `reco precompute` of that model into a fresh LMDB store (every
#               user's top 10, every item's 10 similar items): wall time;
# and `reco tune --families ials,ease,knn --trials TUNE_TRIALS` (default 12):
# wall time and the chosen trial. A family that refuses the data (EASE over
# its memory limit) is recorded with its message; any other failure stops the
# run with the command's output.
# Threads: every core (the commands' defaults). The synthetic set is 20,000
# users x 4,000 items, implicit counts, seed 7 (`reco data synth`).
set -euo pipefail
usage="usage: bench/families_bench.sh RECO_BIN OUT_JSON [DATA_FILE] [TUNE_TRIALS]"
# Paths as given, before the cd below.
reco=$(realpath "${1:?$usage}")
out=$(realpath -m "${2:?$usage}")
ml100k=${3:+$(realpath -m "$3")}
trials=${4:-12}
cd "$(dirname "$0")/.."
ml100k=${ml100k:-${RECO_DATA_DIR:-../shared/data/movielens}/ml-100k/u.data}
[ -x "$reco" ] || { echo "families_bench: $reco is not an executable" >&2; exit 1; }
[ -f "$ml100k" ] || { echo "families_bench: no data file $ml100k" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
synth_args=(data synth --users 20000 --items 4000 --interactions 1000000 --implicit --seed 7)
echo "families_bench: reco ${synth_args[*]}" >&2
"$reco" "${synth_args[@]}" -o "$tmp/synth1m.csv" >/dev/null

rows="$tmp/rows.tsv"
: >"$rows"
for ds in ml100k synth1m; do
  if [ "$ds" = ml100k ]; then file=$ml100k; else file=$tmp/synth1m.csv; fi
  for family in als ials ease knn; do
    model="$tmp/$ds-$family.model"
    echo "families_bench: $ds $family: train" >&2
    start=$(now)
    if "$reco" train --train "$file" --family "$family" -o "$model" >"$tmp/train.log" 2>&1; then
      end=$(now)
      fit=$(grep -o 'trained in [0-9.]*s' "$tmp/train.log" | grep -o '[0-9.]*' | head -1 || true)
      [ -n "$fit" ] || { cat "$tmp/train.log" >&2; echo "families_bench: no 'trained in' line" >&2; exit 1; }
      bytes=$(stat -c %s "$model")
      echo "families_bench: $ds $family: precompute" >&2
      pstart=$(now)
      "$reco" precompute -m "$model" --store "lmdb://$tmp/store-$ds-$family" --k 10 \
        --similar-k 10 >"$tmp/precompute.log" 2>&1 ||
        { tail -5 "$tmp/precompute.log" >&2; exit 1; }
      pend=$(now)
      printf '%s\t%s\tok\t%s\t%s\t%s\t%s\t\n' "$ds" "$family" "$fit" \
        "$(elapsed "$start" "$end")" "$bytes" "$(elapsed "$pstart" "$pend")" >>"$rows"
    elif grep -q 'more than the memory limit' "$tmp/train.log"; then
      reason=$(grep 'more than the memory limit' "$tmp/train.log" | tail -1 | tr '\t' ' ')
      printf '%s\t%s\trefused\t\t\t\t\t%s\n' "$ds" "$family" "$reason" >>"$rows"
    else
      cat "$tmp/train.log" >&2
      echo "families_bench: reco train --family $family failed on $ds" >&2
      exit 1
    fi
  done
  echo "families_bench: $ds: tune ($trials trials)" >&2
  start=$(now)
  "$reco" tune --train "$file" --families ials,ease,knn --trials "$trials" --seed 42 \
    -o "$tmp/$ds-tuned.model" >"$tmp/tune.log" 2>&1 || { tail -5 "$tmp/tune.log" >&2; exit 1; }
  end=$(now)
  printf '%s\ttune\tok\t\t%s\t\t\t%s\n' "$ds" "$(elapsed "$start" "$end")" \
    "$(grep '^best: ' "$tmp/tune.log" | tr '\t' ' ' || true)" >>"$rows"
done

python3 - "$rows" "$trials" "${synth_args[*]}" >"$out" <<'EOF'
import json, sys
rows, trials, synth = sys.argv[1], int(sys.argv[2]), sys.argv[3]
doc = {
    "command": f"bash bench/families_bench.sh RECO_BIN OUT_JSON DATA {trials}",
    "data": {"ml100k": "ml-100k u.data (100,000 ratings, 943 x 1,682)",
             "synth1m": f"reco {synth}"},
    "fit": [], "tune": [],
}
num = lambda s: float(s) if s else None
for line in open(rows):
    ds, family, status, fit, wall, size, pre, note = line.rstrip("\n").split("\t")
    if family == "tune":
        doc["tune"].append({"data": ds, "families": "ials,ease,knn", "trials": trials,
                            "seconds": num(wall), "best": note})
        continue
    entry = {"data": ds, "family": family, "status": status}
    if status == "ok":
        entry.update({"fit_seconds": num(fit), "train_command_seconds": num(wall),
                      "model_bytes": int(size), "precompute_seconds": num(pre)})
    else:
        entry["reason"] = note
    doc["fit"].append(entry)
print(json.dumps(doc, indent=2))
EOF
echo "families_bench: wrote $out" >&2
