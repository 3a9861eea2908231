#!/usr/bin/env bash
# scale_bench.sh: how do generation, loading and ALS training scale with the
# data size, single-process and under MPI?
#
# Usage:
#   bench/scale_bench.sh --reco build/release/src/cli/reco [--sizes small,medium,large]
#       [--factors 64] [--iterations 2] [--ranks 1,2] [--work DIR] [--keep-data]
#       [--out bench/results/scale.json] [--note TEXT] [--threads N]
#
# Sizes (users x items x interactions, planted rank 32, implicit counts):
#   small   100,000 x  10,000 x  1,000,000
#   medium  500,000 x  50,000 x 10,000,000
#   large 1,000,000 x 100,000 x 50,000,000 (always 1 iteration)
# For each size it
#   1. generates the data with `reco data synth` (timed, peak RSS),
#   2. trains implicit ALS with `reco train --implicit --factors F --iterations I`
#      under /usr/bin/time -v: load time is the time to the loader's log line,
#      seconds per iteration is the trainer's own (loss evaluation excluded)
#      divided by I, peak RSS is the process's maximum resident set,
#   3. repeats 2 with `mpirun -np P reco train --distributed` for every P > 1 in
#      --ranks, when `reco train --help` offers --distributed (otherwise the run
#      is recorded as not run, with the reason); peak RSS is per rank (the max).
# Measuring 1-2 iterations, not a full training run, keeps the large size
# within minutes; per-iteration cost is constant after the first.
# The JSON records the machine, its load average at the start (the machine may
# be shared: say so with --note), and every command run.
set -euo pipefail

die() {
  echo "scale_bench: $*" >&2
  exit 1
}

RECO=""
SIZES="small,medium,large"
FACTORS=64
ITERATIONS=2
RANKS="1,2"
WORK=""
KEEP=0
OUT="bench/results/scale.json"
NOTE=""
THREADS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reco) RECO="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --factors) FACTORS="$2"; shift 2 ;;
    --iterations) ITERATIONS="$2"; shift 2 ;;
    --ranks) RANKS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --keep-data) KEEP=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --note) NOTE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;  # per process; default cores / P
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -n "$RECO" ]] || die "--reco BIN is required"
[[ -x "$RECO" ]] || die "$RECO is not an executable"
RECO="$(cd "$(dirname "$RECO")" && pwd)/$(basename "$RECO")"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed to write the JSON"

if [[ -z "$WORK" ]]; then
  WORK="$(mktemp -d -t reco_scale_bench.XXXXXX)"
fi
mkdir -p "$WORK"
cleanup() {
  if [[ "$KEEP" == 0 ]]; then rm -f "$WORK"/*.csv "$WORK"/*.reco; fi
}
trap cleanup EXIT

size_spec() {
  case "$1" in
    small) echo "100000 10000 1000000 $ITERATIONS" ;;
    medium) echo "500000 50000 10000000 $ITERATIONS" ;;
    large) echo "1000000 100000 50000000 1" ;;  # one iteration: minutes, not tens
    tiny) echo "2000 500 60000 $ITERATIONS" ;;  # harness check
    *) die "unknown size $1 (small, medium, large, tiny)" ;;
  esac
}

HAS_DISTRIBUTED=0
if "$RECO" train --help 2>/dev/null | grep -q -- '--distributed'; then HAS_DISTRIBUTED=1; fi
MPIRUN_ARGS=(--oversubscribe --mca btl self,vader,tcp)
if [[ "$(id -u)" == 0 ]]; then MPIRUN_ARGS+=(--allow-run-as-root); fi

CORES="$(nproc)"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# time -v's "Maximum resident set size (kbytes): N" -> N
max_rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall_seconds() {
  awk -F': ' '/Elapsed \(wall clock\) time/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + p[i]; print s }' "$1"
}

# Runs "$@" under /usr/bin/time -v; stdout+stderr to $1.log, time to $1.time.
timed() {
  local tag="$1"
  shift
  echo "+ $*" >&2
  local rc=0
  /usr/bin/time -v -o "$WORK/$tag.time" "$@" > "$WORK/$tag.log" 2>&1 || rc=$?
  if [[ $rc != 0 ]]; then
    tail -20 "$WORK/$tag.log" >&2
    echo "scale_bench: $tag failed with exit code $rc" >&2
  fi
  return $rc
}

# Seconds from the process start to the loader's "N records, U users" log line.
load_seconds() {
  python3 - "$WORK/$1.log" "$2" <<'EOF'
import re, sys
log, start = sys.argv[1], float(sys.argv[2])
for line in open(log, errors="replace"):
    m = re.match(r".*\[(\d\d):(\d\d):(\d\d\.\d+)\].* records, .* users", line)
    if m:
        h, mi, s = int(m.group(1)), int(m.group(2)), float(m.group(3))
        t = h * 3600 + mi * 60 + s
        d = t - start
        if d < -43200: d += 86400
        print(f"{d:.3f}")
        break
else:
    print("None")
EOF
}
# Seconds since midnight UTC, as the log prints them (local time = UTC here).
now_of_day() { date +%H:%M:%S.%N | awk -F: '{print $1 * 3600 + $2 * 60 + $3}'; }
train_seconds() {
  sed -n 's/.*trained in \([0-9.]*\)s.*/\1/p' "$WORK/$1.log" | tail -1
}

# Writes --out from the rows so far: called after every run, so an
# interrupted benchmark still leaves its measurements.
write_json() {
mkdir -p "$(dirname "$OUT")"
python3 - "$RESULTS" "$OUT" "$WORK" "$RECO" "$(cd "$(dirname "$0")/.." && pwd)" <<EOF
import json, os, platform, subprocess, sys
work, reco, repo = sys.argv[3], sys.argv[4], sys.argv[5]
def portable(v):
    """No machine paths in the record: \$WORK, \$RECO, or relative to the repository."""
    if isinstance(v, str):
        return v.replace(work, "\$WORK").replace(reco, "\$RECO").replace(repo + "/", "")
    if isinstance(v, list):
        return [portable(x) for x in v]
    if isinstance(v, dict):
        return {k: portable(x) for k, x in v.items()}
    return v
rows = [portable(json.loads(l)) for l in open(sys.argv[1]) if l.strip()]
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return None
out = {
  "benchmark": "bench/scale_bench.sh",
  "started_utc": "$START_UTC",
  "finished_utc": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
  "machine": {"cpus": os.cpu_count(), "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"),
              "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
              "kernel": platform.release()},
  "load_average_at_start": "$LOAD_AT_START",
  "note": """$NOTE""",
  "source": sh("git -C '$(dirname "$0")/..' rev-parse --short HEAD"),
  "reco": portable(reco),
  "data": "reco data synth, planted rank 32, implicit counts, Zipf 1.0 items, activity 0.5",
  "training": {"kind": "implicit ALS (conjugate gradient)", "factors": $FACTORS,
               "iterations_measured": "$ITERATIONS (large: 1)",
               "threads": "per process: ${THREADS:-cores / processes}"},
  "results": rows,
}
json.dump(out, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
EOF
}

IFS=',' read -r -a SIZE_LIST <<< "$SIZES"
IFS=',' read -r -a RANK_LIST <<< "$RANKS"
for size in "${SIZE_LIST[@]}"; do
  read -r users items interactions iterations <<< "$(size_spec "$size")"
  data="$WORK/$size.csv"
  gen_cmd=("$RECO" data synth --users "$users" --items "$items" --interactions "$interactions"
    --rank 32 --seed 1 --implicit --threads "${THREADS:-0}" --out "$data")
  timed "$size.synth" "${gen_cmd[@]}"
  gen_s="$(wall_seconds "$WORK/$size.synth.time")"
  gen_rss="$(max_rss_kb "$WORK/$size.synth.time")"
  bytes="$(stat -c %s "$data")"
  python3 - "$RESULTS" <<EOF
import json, sys
json.dump({"size": "$size", "step": "generate", "users": $users, "items": $items,
           "interactions": $interactions, "file_bytes": $bytes, "seconds": $gen_s,
           "peak_rss_mb": round($gen_rss / 1024, 1), "command": """${gen_cmd[*]}"""},
          open(sys.argv[1], "a"))
open(sys.argv[1], "a").write("\n")
EOF
  write_json
  for p in "${RANK_LIST[@]}"; do
    tag="$size.train.p$p"
    model="$WORK/$size.p$p.reco"
    # One thread per core in total: P processes get cores / P threads each.
    threads="${THREADS:-$(( CORES / p > 0 ? CORES / p : 1 ))}"
    train_args=(train --train "$data" --implicit --factors "$FACTORS" --iterations "$iterations"
      --threads "$threads" --out "$model")
    status="ok"
    reason=""
    if [[ "$p" == 1 ]]; then
      cmd=("$RECO" "${train_args[@]}")
    elif [[ "$HAS_DISTRIBUTED" == 1 ]]; then
      cmd=(mpirun "${MPIRUN_ARGS[@]}" -np "$p" "$RECO" "${train_args[@]}" --distributed)
    else
      status="not run"
      reason="this reco train has no --distributed option yet (MPI training not merged)"
      cmd=(mpirun "${MPIRUN_ARGS[@]}" -np "$p" "$RECO" "${train_args[@]}" --distributed)
    fi
    load_s=None; iter_s=None; rss=None; wall=None; train_s=None
    if [[ "$status" == ok ]]; then
      t0="$(now_of_day)"
      if timed "$tag" "${cmd[@]}"; then
        load_s="$(load_seconds "$tag" "$t0")"
        train_s="$(train_seconds "$tag")"
        [[ -n "$train_s" ]] || train_s=None
        if [[ "$train_s" != None ]]; then
          iter_s="$(python3 -c "print(round($train_s / $iterations, 3))")"
        fi
        # Under mpirun, time -v sees mpirun and its children: the largest
        # child (one rank) is what it reports.
        rss="$(python3 -c "print(round($(max_rss_kb "$WORK/$tag.time") / 1024, 1))")"
        wall="$(wall_seconds "$WORK/$tag.time")"
      else
        status="failed"
        reason="$(tail -3 "$WORK/$tag.log" | tr '\n"' ' ' | cut -c1-300)"
      fi
    fi
    python3 - "$RESULTS" <<EOF
import json, sys
json.dump({"size": "$size", "step": "train", "processes": $p, "status": "$status",
           "reason": "$reason" or None, "factors": $FACTORS, "iterations": $iterations, "threads_per_process": $threads,
           "load_seconds": $load_s, "train_seconds": $train_s, "seconds_per_iteration": $iter_s,
           "peak_rss_mb": $rss, "wall_seconds": $wall, "command": """${cmd[*]}"""},
          open(sys.argv[1], "a"))
open(sys.argv[1], "a").write("\n")
EOF
    rm -f "$model"
    write_json
  done
  if [[ "$KEEP" == 0 ]]; then rm -f "$data"; fi
done
echo "wrote $OUT" >&2
